package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/triton-io/triton/cmd/kubectl-release/app"
	apiserver "github.com/triton-io/triton/cmd/triton-apiserver/app"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: readme-commands README.md Makefile")
		os.Exit(2)
	}
	readme, err := os.ReadFile(os.Args[1])
	check(err)
	makefile, err := os.ReadFile(os.Args[2])
	check(err)
	commands := Commands(string(readme))
	problems := Check(commands, Targets(string(makefile)))
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, "README:", p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
	fmt.Printf("readme-commands: %d commands checked\n", len(commands))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}

// Command is a command line of the README and the line it is on.
type Command struct {
	Line int
	Text string
	open bool
}

// continues reports whether a command line goes on on the next line.
func continues(text string) bool {
	if strings.HasSuffix(text, "\\") {
		return true
	}
	_, err := Split(text)
	return err != nil
}

// Commands are the README's commands: the lines of sh blocks (comments and blank lines left out) and
// the "$ " lines of console blocks.
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
		if err := checkWords(words, targets); err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %s: %v", c.Line, c.Text, err))
		}
	}
	return problems
}

var repoPath = regexp.MustCompile(`^(artifacts|hack|cmd|pkg|test)/`)

func checkWords(words []string, targets map[string]bool) error {
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
		return plugin(words[2:])
	case len(words) >= 1 && words[0] == "kubectl-release":
		return plugin(words[1:])
	case len(words) >= 1 && strings.HasSuffix(words[0], "triton-apiserver"):
		fs := pflag.NewFlagSet("triton-apiserver", pflag.ContinueOnError)
		apiserver.NewOptions().AddFlags(fs)
		fs.Bool("version", false, "")
		return fs.Parse(words[1:])
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

// plugin parses args as the plugin would: the command must exist and its flags parse.
func plugin(args []string) error {
	root := app.NewCommand(genericiooptions.NewTestIOStreamsDiscard())
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if cmd == root && len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		return fmt.Errorf("no plugin command %q", rest[0])
	}
	return cmd.ParseFlags(rest)
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
