package app

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/triton-io/triton/pkg/failpoint"
)

// EnvPrefix starts the environment variable of every flag: TRITON_ and the flag's name in upper case,
// dashes as underscores (--etcd-servers is TRITON_ETCD_SERVERS).
const EnvPrefix = "TRITON_"

// notFlags are TRITON_ variables the server reads that are not flags: no warning for them.
var notFlags = map[string]bool{failpoint.EnvVar: true}

// EnvName is the environment variable that sets the flag named name.
func EnvName(name string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// ApplyEnv sets every flag of fs that the command line did not set from its environment variable
// (EnvName), if lookup has it: the command line wins. A value is parsed as the flag parses its own
// (a list is comma-separated, a boolean true or false), and a bad one is an error naming the variable
// and the flag. An empty value sets the flag to empty. It returns the variables of environ that start
// with EnvPrefix and name no flag (ignored; the caller warns), sorted.
func ApplyEnv(fs *pflag.FlagSet, lookup func(string) (string, bool), environ []string) (unknown []string, err error) {
	known := map[string]bool{}
	var errs []string
	fs.VisitAll(func(f *pflag.Flag) {
		name := EnvName(f.Name)
		known[name] = true
		// --help and --version are questions for the command line, not settings.
		if f.Name == "help" || f.Name == "version" || f.Changed {
			return
		}
		value, ok := lookup(name)
		if !ok {
			return
		}
		if err := fs.Set(f.Name, value); err != nil {
			errs = append(errs, fmt.Sprintf("invalid value %q for %s (--%s): %v", value, name, f.Name, err))
		}
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, EnvPrefix) && !known[name] && !notFlags[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	return unknown, nil
}
