package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/triton-io/triton/cmd/kubectl-release/app"
	apiserver "github.com/triton-io/triton/cmd/triton-apiserver/app"
)

func main() {
	makefile := flag.String("makefile", "Makefile", "the Makefile whose targets make commands must name")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: readme-commands [-makefile Makefile] FILE.md...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	mk, err := os.ReadFile(*makefile)
	check(err)
	targets := Targets(string(mk))
	total, failed := 0, false
	for _, path := range flag.Args() {
		text, err := os.ReadFile(path)
		check(err)
		commands := Commands(string(text))
		total += len(commands)
		for _, p := range Check(commands, targets) {
			fmt.Fprintf(os.Stderr, "%s: %s\n", path, p)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
	fmt.Printf("readme-commands: %d commands checked in %d files\n", total, flag.NArg())
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// Command is a command line of a Markdown file and the line it is on.
type Command struct {
	Line int
	Text string
	// Inline: the command is inline code in prose or a table, which may hold placeholders (NAME, N): its
	// command, subcommands and flag names are checked, not its values.
	Inline bool
	open   bool
}

// continues reports whether a command line goes on on the next line.
func continues(text string) bool {
	if strings.HasSuffix(text, "\\") {
		return true
	}
	_, err := Split(text)
	return err != nil
}

// inlineCode is a span of inline code.
var inlineCode = regexp.MustCompile("`([^`]+)`")

// inlineCommand reports whether inline code is a command to check: one of make, kubectl release,
// kubectl-release or triton-apiserver, with its arguments (a bare `make` or `kubectl release` is prose).
func inlineCommand(code string) bool {
	words := strings.Fields(code)
	for len(words) > 0 && envAssignment.MatchString(words[0]) {
		words = words[1:]
	}
	switch {
	case len(words) >= 2 && words[0] == "make":
		return true
	case len(words) >= 3 && words[0] == "kubectl" && words[1] == "release":
		return true
	case len(words) >= 2 && (words[0] == "kubectl-release" || words[0] == "triton-apiserver"):
		return true
	}
	return false
}

// Commands are a Markdown file's commands: the lines of sh blocks (comments and blank lines left out),
// the "$ " lines of console blocks, and inline code outside blocks that runs make, kubectl release or
// triton-apiserver.
func Commands(readme string) []Command {
	var out []Command
	block := ""
	sc := bufio.NewScanner(strings.NewReader(readme))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			if block == "" {
				block = strings.TrimPrefix(line, "```")
				if block == "" {
					block = "text"
				}
			} else {
				block = ""
			}
			continue
		}
		text := strings.TrimSpace(line)
		if k := len(out) - 1; block != "text" && k >= 0 && out[k].open {
			// The line goes on the one before: an open quote or a trailing backslash.
			out[k].Text = strings.TrimSuffix(out[k].Text, "\\") + "\n" + text
			out[k].open = continues(out[k].Text)
			continue
		}
		switch {
		case block == "":
			for _, m := range inlineCode.FindAllStringSubmatch(line, -1) {
				if inlineCommand(m[1]) {
					out = append(out, Command{Line: n, Text: m[1], Inline: true})
				}
			}
		case block == "sh" && text != "" && !strings.HasPrefix(text, "#"):
			out = append(out, Command{Line: n, Text: text, open: continues(text)})
		case block == "console" && strings.HasPrefix(line, "$ "):
			text = strings.TrimPrefix(line, "$ ")
			out = append(out, Command{Line: n, Text: text, open: continues(text)})
		}
	}
	return out
}

// Targets are the Makefile's targets.
func Targets(makefile string) map[string]bool {
	targets := map[string]bool{}
	re := regexp.MustCompile(`(?m)^([a-zA-Z0-9_-]+):`)
	for _, m := range re.FindAllStringSubmatch(makefile, -1) {
		targets[m[1]] = true
	}
	return targets
}

// Check says what is wrong with each command.
func Check(commands []Command, targets map[string]bool) []string {
	var problems []string
	for _, c := range commands {
		words, err := Split(c.Text)
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s: %v", c.Line, c.Text, err))
			continue
		}
		if err := checkWords(words, targets, c.Inline); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s: %v", c.Line, c.Text, err))
		}
	}
	return problems
}

var (
	repoPath      = regexp.MustCompile(`^(artifacts|hack|cmd|pkg|test|docs)/`)
	envAssignment = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`)
)

func checkWords(words []string, targets map[string]bool, inline bool) error {
	// VAR=value before a command sets its environment.
	for len(words) > 0 && envAssignment.MatchString(words[0]) {
		words = words[1:]
	}
	for _, w := range words {
		_, value, _ := strings.Cut(w, "=") // --manifest=PATH, or PATH itself
		if value == "" {
			value = w
		}
		if p := strings.TrimPrefix(value, "./"); repoPath.MatchString(p) {
			if _, err := os.Stat(p); err != nil {
				return fmt.Errorf("%s does not exist", p)
			}
		}
	}
	switch {
	case len(words) >= 2 && words[0] == "make":
		for _, w := range words[1:] {
			if !strings.Contains(w, "=") && !targets[w] {
				return fmt.Errorf("no make target %q", w)
			}
		}
	case len(words) >= 2 && words[0] == "kubectl" && words[1] == "release":
		return command(pluginCommand(), words[2:], inline)
	case len(words) >= 1 && words[0] == "kubectl-release":
		return command(pluginCommand(), words[1:], inline)
	case len(words) >= 1 && strings.HasSuffix(words[0], "triton-apiserver"):
		return command(apiserver.NewCommand(context.Background()), words[1:], inline)
	case len(words) >= 2 && words[0] == "go" && words[1] == "install":
		for _, w := range words[2:] {
			pkg := strings.SplitN(w, "@", 2)[0]
			if rel, ok := strings.CutPrefix(pkg, "github.com/triton-io/triton/"); ok {
				if _, err := os.Stat(rel); err != nil {
					return fmt.Errorf("no package %s in this repository", pkg)
				}
			}
		}
	}
	return nil
}

func pluginCommand() *cobra.Command {
	return app.NewCommand(genericiooptions.NewTestIOStreamsDiscard())
}

// command checks args against root's command tree: the (sub)command must exist, and its flags must
// parse; for inline code, which may hold placeholders, only the flags' names must exist.
func command(root *cobra.Command, args []string, inline bool) error {
	root.InitDefaultHelpCmd()
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") && root.HasAvailableSubCommands() {
		return fmt.Errorf("no %s command %q", root.Name(), rest[0])
	}
	cmd.InitDefaultHelpFlag()
	if cmd == root {
		cmd.InitDefaultVersionFlag()
	}
	if !inline {
		return cmd.ParseFlags(rest)
	}
	for _, w := range rest {
		if w == "--" {
			break
		}
		if name, ok := strings.CutPrefix(w, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if cmd.Flag(name) == nil {
				return fmt.Errorf("unknown flag: --%s", name)
			}
			continue
		}
		if short, ok := strings.CutPrefix(w, "-"); ok && short != "" {
			if flagShorthand(cmd, short[:1]) == nil {
				return fmt.Errorf("unknown shorthand flag: %q in %s", short[:1], w)
			}
		}
	}
	return nil
}

// flagShorthand finds a flag of cmd, or one it inherits, by its one-letter name.
func flagShorthand(cmd *cobra.Command, short string) *pflag.Flag {
	if f := cmd.Flags().ShorthandLookup(short); f != nil {
		return f
	}
	return cmd.InheritedFlags().ShorthandLookup(short)
}

// Split splits a command line into words as a POSIX shell would for the simple lines a README shows:
// single and double quotes, backslash escapes; a trailing comment and anything after a pipe, redirect or
// process substitution ends it.
func Split(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case ch == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			j := i + 1
			for ; j < len(line) && line[j] != '"'; j++ {
				if line[j] == '\\' && j+1 < len(line) {
					j++
				}
				cur.WriteByte(line[j])
			}
			if j >= len(line) {
				return nil, fmt.Errorf("unterminated quote")
			}
			i = j
			inWord = true
		case ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case !inWord && (ch == '#' || ch == '|' || ch == '>' || ch == '<' || ch == ';' || ch == '&'):
			return words, nil
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
