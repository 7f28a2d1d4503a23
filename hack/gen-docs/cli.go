/*
Copyright The Triton Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// CLIReference renders root and every command under it as Markdown, one page per command, named after
// its command path as cobra's doc generator names them ("kubectl release next" is
// kubectl_release_next.md), with no date in them. home, when not empty, is replaced by $HOME in flag
// defaults (kubectl's cache directory).
func CLIReference(root *cobra.Command, home string) (map[string][]byte, error) {
	pages := map[string][]byte{}
	var walk func(cmd *cobra.Command) error
	walk = func(cmd *cobra.Command) error {
		if !documented(cmd) {
			return nil
		}
		cmd.InitDefaultHelpFlag()
		if cmd == root {
			cmd.InitDefaultVersionFlag()
		}
		stableDefaults(cmd, home)
		name := fileName(cmd)
		if _, dup := pages[name]; dup {
			return fmt.Errorf("two commands are documented as %s", name)
		}
		pages[name] = commandPage(cmd)
		for _, child := range cmd.Commands() {
			if err := walk(child); err != nil {
				return err
			}
		}
		return nil
	}
	root.InitDefaultHelpCmd()
	if err := walk(root); err != nil {
		return nil, err
	}
	return pages, nil
}

// documented reports whether cmd gets a page: not hidden, deprecated, cobra's help command or a help
// topic.
func documented(cmd *cobra.Command) bool {
	return cmd.IsAvailableCommand() && !cmd.IsAdditionalHelpTopicCommand()
}

func fileName(cmd *cobra.Command) string {
	return strings.ReplaceAll(cmd.CommandPath(), " ", "_") + ".md"
}

// stableDefaults takes the machine out of flag defaults: the home directory becomes $HOME.
func stableDefaults(cmd *cobra.Command, home string) {
	if home == "" || home == "/" {
		return
	}
	fix := func(f *pflag.Flag) {
		f.DefValue = strings.ReplaceAll(f.DefValue, home, "$HOME")
	}
	cmd.Flags().VisitAll(fix)
	cmd.PersistentFlags().VisitAll(fix)
	cmd.InheritedFlags().VisitAll(fix)
}

func commandPage(cmd *cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString(generatedNote)
	fmt.Fprintf(&b, "# %s\n\n", cmd.CommandPath())
	fmt.Fprintf(&b, "%s\n\n", cmd.Short)
	if cmd.Runnable() || cmd.HasAvailableSubCommands() {
		b.WriteString("## Synopsis\n\n")
		if long := strings.TrimSpace(cmd.Long); long != "" {
			fmt.Fprintf(&b, "```\n%s\n```\n\n", long)
		}
		if cmd.Runnable() {
			fmt.Fprintf(&b, "```\n%s\n```\n\n", cmd.UseLine())
		}
	}
	if cmd.Example != "" {
		fmt.Fprintf(&b, "## Examples\n\n```\n%s\n```\n\n", strings.TrimRight(cmd.Example, "\n"))
	}
	if flags := cmd.NonInheritedFlags(); flags.HasAvailableFlags() {
		fmt.Fprintf(&b, "## Options\n\n```\n%s```\n\n", flags.FlagUsages())
	}
	if flags := cmd.InheritedFlags(); flags.HasAvailableFlags() {
		fmt.Fprintf(&b, "## Options inherited from parent commands\n\n```\n%s```\n\n", flags.FlagUsages())
	}
	var related []*cobra.Command
	if cmd.HasParent() {
		related = append(related, cmd.Parent())
	}
	children := slices.Clone(cmd.Commands())
	sort.Slice(children, func(i, j int) bool { return children[i].Name() < children[j].Name() })
	for _, child := range children {
		if documented(child) {
			related = append(related, child)
		}
	}
	if len(related) > 0 {
		b.WriteString("## See also\n\n")
		for _, c := range related {
			fmt.Fprintf(&b, "* [%s](%s): %s\n", c.CommandPath(), fileName(c), c.Short)
		}
		b.WriteString("\n")
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}

// cliIndex is the CLI reference's table of contents.
func cliIndex(roots ...*cobra.Command) []byte {
	var b bytes.Buffer
	b.WriteString(generatedNote)
	b.WriteString("# Command-line reference\n\n")
	for _, root := range roots {
		fmt.Fprintf(&b, "## %s\n\n", root.CommandPath())
		var list func(cmd *cobra.Command, depth int)
		list = func(cmd *cobra.Command, depth int) {
			if !documented(cmd) {
				return
			}
			fmt.Fprintf(&b, "%s* [%s](%s): %s\n", strings.Repeat("  ", depth), cmd.CommandPath(), fileName(cmd), cmd.Short)
			children := slices.Clone(cmd.Commands())
			sort.Slice(children, func(i, j int) bool { return children[i].Name() < children[j].Name() })
			for _, child := range children {
				list(child, depth+1)
			}
		}
		list(root, 0)
		b.WriteString("\n")
	}
	return append(bytes.TrimRight(b.Bytes(), "\n"), '\n')
}
