package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"golang.org/x/term"

	"github.com/triton-io/triton/pkg/embeddedetcd"
)

// DefaultRevisionBump is how far `snapshot restore` moves the restored store's revision ahead by default:
// beyond any revision the old store can have reached, as Kubernetes' own etcd restore advice does.
const DefaultRevisionBump = 1_000_000_000

// newSnapshotCommand is `triton-apiserver snapshot`: save and restore etcd snapshots of the releases.
func newSnapshotCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Back up the server's etcd to a snapshot file, and restore a data dir from one",
		Long: "Snapshots are etcd's own: the whole keyspace (every release, its history and the CloneSet claims) at one " +
			"revision, with a checksum. `save` takes one from the running server's embedded etcd (or from --etcd-servers); " +
			"`restore` makes a new etcd data dir from one, for the embedded etcd or for a plain etcd.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return UsageError{errors.New("snapshot needs a subcommand: save or restore")}
		},
	}
	cmd.AddCommand(newSnapshotSaveCommand(), newSnapshotRestoreCommand())
	return cmd
}

// snapshotSaveOptions are `snapshot save`'s flags.
type snapshotSaveOptions struct {
	dataDir                   string
	servers                   []string
	caFile, certFile, keyFile string
	timeout                   time.Duration
}

func newSnapshotSaveCommand() *cobra.Command {
	o := snapshotSaveOptions{dataDir: DefaultEtcdDataDir, timeout: 10 * time.Minute}
	cmd := &cobra.Command{
		Use:   "save FILE",
		Short: "Save a snapshot of the server's etcd to FILE (- for standard output)",
		Long: "Saves a snapshot of the embedded etcd of the triton-apiserver that runs on --etcd-data-dir (run it where " +
			"the server runs: kubectl exec deploy/triton-apiserver -- triton-apiserver snapshot save - > backup.db), or, " +
			"with --etcd-servers, of the first of those etcd members that answers. Each flag not given is taken from its " +
			"variable TRITON_<FLAG> as the server takes it, so in the server's container the defaults are the server's. " +
			"A FILE is written whole or not at all (FILE.part until it is complete), readable by its owner only.",
		Example: "  kubectl -n triton-system exec deploy/triton-apiserver -- triton-apiserver snapshot save - > backup.db\n" +
			"  triton-apiserver snapshot save /var/lib/triton-apiserver/backup.db",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return UsageError{fmt.Errorf("snapshot save takes one FILE (- for standard output), got %d arguments", len(args))}
			}
			return nil
		},
		// Run in the server's container (kubectl exec), save takes the server's own settings of its flags
		// from the environment the server was given them in (TRITON_ETCD_DATA_DIR, TRITON_ETCD_SERVERS, ...,
		// see ApplyEnv); the command line wins.
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if _, err := ApplyEnv(cmd.Flags(), os.LookupEnv, nil); err != nil {
				return UsageError{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.dataDir, "etcd-data-dir", o.dataDir,
		"Data dir of the running server's embedded etcd, as given to the server (or its TRITON_ETCD_DATA_DIR); "+
			"unused with --etcd-servers.")
	fs.StringSliceVar(&o.servers, "etcd-servers", o.servers,
		"etcd members to take the snapshot from (the first that answers), as given to the server (or its "+
			"TRITON_ETCD_SERVERS). Empty: the embedded etcd.")
	fs.StringVar(&o.caFile, "etcd-cafile", o.caFile, "With --etcd-servers: CA bundle that verifies the members.")
	fs.StringVar(&o.certFile, "etcd-certfile", o.certFile, "With --etcd-servers: client certificate.")
	fs.StringVar(&o.keyFile, "etcd-keyfile", o.keyFile, "With --etcd-servers: client key.")
	fs.DurationVar(&o.timeout, "timeout", o.timeout, "How long the whole save may take.")
	return cmd
}

func (o *snapshotSaveOptions) run(cmd *cobra.Command, file string) error {
	if o.timeout <= 0 {
		return UsageError{errors.New("--timeout must be positive")}
	}
	cfg := clientv3.Config{Endpoints: o.servers, DialTimeout: 5 * time.Second}
	if len(o.servers) == 0 {
		if o.caFile != "" || o.certFile != "" || o.keyFile != "" {
			return UsageError{errors.New("--etcd-cafile, --etcd-certfile and --etcd-keyfile need --etcd-servers")}
		}
		url, err := embeddedetcd.ClientURL(o.dataDir)
		if err != nil {
			return fmt.Errorf("snapshot save: %w (is --etcd-data-dir the server's?)", err)
		}
		cfg.Endpoints = []string{url}
	} else if o.caFile != "" || o.certFile != "" || o.keyFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: o.certFile, KeyFile: o.keyFile, TrustedCAFile: o.caFile}
		tlsConfig, err := tlsInfo.ClientConfig()
		if err != nil {
			return fmt.Errorf("snapshot save: etcd TLS: %w", err)
		}
		cfg.TLS = tlsConfig
	}
	if f, ok := cmd.OutOrStdout().(*os.File); ok && file == "-" && term.IsTerminal(int(f.Fd())) {
		// A terminal would show binary, and one that kubectl exec -t opened would also turn every LF into
		// CR LF on the way: the file would not restore.
		return UsageError{errors.New("snapshot save -: standard output is a terminal; redirect it to a file " +
			"(and use kubectl exec without -t)")}
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	var info embeddedetcd.SnapshotInfo
	var err error
	if file == "-" {
		info, err = embeddedetcd.Save(ctx, cfg, cmd.OutOrStdout())
	} else {
		info, err = embeddedetcd.SaveFile(ctx, cfg, file)
	}
	if err != nil {
		return fmt.Errorf("snapshot save: %w", err)
	}
	to := file
	if file == "-" {
		to = "standard output"
	}
	// Standard error: standard output may be the snapshot itself.
	// The snapshot is saved: a report that cannot be written is no reason to say otherwise.
	_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "Saved a snapshot of etcd revision %d (%d bytes) from %s to %s\n",
		info.Revision, info.Size, info.Endpoint, to)
	return nil
}

// snapshotRestoreOptions are `snapshot restore`'s flags.
type snapshotRestoreOptions struct {
	dataDir        string
	name           string
	peerURLs       []string
	initialCluster string
	token          string
	bump           uint64
	skipHashCheck  bool
}

func newSnapshotRestoreCommand() *cobra.Command {
	o := snapshotRestoreOptions{bump: DefaultRevisionBump}
	cmd := &cobra.Command{
		Use:   "restore FILE --etcd-data-dir DIR",
		Short: "Restore a new etcd data dir DIR from the snapshot FILE (- for standard input)",
		Long: "Makes DIR, which must be new or empty and not in use, an etcd data dir holding everything the snapshot " +
			"held: a triton-apiserver started with --etcd-data-dir DIR serves every release the snapshot had. With " +
			"--name, --initial-advertise-peer-urls and --initial-cluster (given the same to etcd), DIR is for a plain " +
			"etcd instead, e.g. to move from the embedded etcd to an external one. The store's revision moves " +
			"--bump-revision ahead, so that clients that watched the old store list again.",
		Example: "  kubectl -n triton-system exec -i deploy/triton-apiserver -- triton-apiserver snapshot restore - \\\n" +
			"      --etcd-data-dir /var/lib/triton-apiserver/etcd-restored < backup.db",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return UsageError{fmt.Errorf("snapshot restore takes one FILE (- for standard input), got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd, args[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.dataDir, "etcd-data-dir", o.dataDir, "The data dir to make: new or empty. Required.")
	fs.StringVar(&o.name, "name", o.name,
		"The restored member's name, for a plain etcd (its --name). Empty: the embedded etcd's.")
	fs.StringSliceVar(&o.peerURLs, "initial-advertise-peer-urls", o.peerURLs,
		"The restored member's peer URLs, for a plain etcd (its --initial-advertise-peer-urls).")
	fs.StringVar(&o.initialCluster, "initial-cluster", o.initialCluster,
		"Every member of the restored cluster, name=peerURL,..., for a plain etcd (its --initial-cluster); run restore "+
			"once per member, each with its own --name. Empty: this member alone.")
	fs.StringVar(&o.token, "initial-cluster-token", o.token,
		"The restored cluster's token, for a plain etcd (its --initial-cluster-token).")
	fs.Uint64Var(&o.bump, "bump-revision", o.bump,
		"How far the restored store's revision moves ahead, every older revision marked compacted: clients that "+
			"watched the old store (informers behind kube-apiserver) then list again instead of missing what the restore "+
			"undid. 0: revisions as in the snapshot.")
	fs.BoolVar(&o.skipHashCheck, "skip-hash-check", o.skipHashCheck,
		"Restore a database file copied out of a data dir (member/snap/db), which has no checksum. A saved snapshot "+
			"always has one, and it is checked.")
	return cmd
}

func (o *snapshotRestoreOptions) run(cmd *cobra.Command, file string) error {
	if strings.TrimSpace(o.dataDir) == "" {
		return UsageError{errors.New("snapshot restore needs --etcd-data-dir: the data dir to make")}
	}
	if (o.name == "") != (len(o.peerURLs) == 0) {
		return UsageError{errors.New("--name and --initial-advertise-peer-urls go together: both for a plain etcd, " +
			"neither for the embedded one")}
	}
	if o.name == "" && (o.initialCluster != "" || o.token != "") {
		return UsageError{errors.New("--initial-cluster and --initial-cluster-token need --name and --initial-advertise-peer-urls")}
	}
	c := embeddedetcd.RestoreConfig{DataDir: o.dataDir, Name: o.name, PeerURLs: o.peerURLs,
		InitialCluster: o.initialCluster, ClusterToken: o.token, RevisionBump: o.bump, SkipHashCheck: o.skipHashCheck}
	from := file
	if file == "-" {
		c.Reader = cmd.InOrStdin()
		from = "standard input"
	} else {
		if _, err := os.Stat(file); err != nil {
			return fmt.Errorf("snapshot restore: %w", err)
		}
		c.Snapshot = file
	}
	res, err := embeddedetcd.Restore(c)
	if err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	_, _ = fmt.Fprintf(cmd.OutOrStdout(), "Restored the snapshot from %s (etcd revision %d, %d keys) into %s\n",
		from, res.Revision, res.Keys, o.dataDir)
	return nil
}
