// Command testsummary reads `go test -json` output and prints it for people.
//
//	go test -json ./... | tee out.json | testsummary          # a line per test as it ends, then the totals
//	go test -json ./... | testsummary -quiet                   # a line per failed test and per package
//	testsummary -failures < out.json                           # each failed test's output, then the list
//
// The first form is for following a long run (CI shows it as it comes); the second is printed last by the
// test scripts, so that a log cut to its end still says which tests failed and why.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// event is one line of test2json's output.
type event struct {
	Action  string
	Package string
	// ImportPath names the package of a build's events (build-output, build-fail).
	ImportPath string
	Test       string
	Elapsed    float64
	Output     string
}

// result is what became of one test (or, with no name, one package).
type result struct {
	pkg, test string
	action    string
	elapsed   float64
	output    []string
}

func main() {
	failures := flag.Bool("failures", false, "print only the failed tests, each with the end of its output")
	slowest := flag.Int("slowest", 10, "how many of the slowest top-level tests to list at the end")
	quiet := flag.Bool("quiet", false, "print a line only for a test that failed (and each package's verdict)")
	lines := flag.Int("lines", 40, "with -failures, how many lines of each failed test's output to print")
	flag.Parse()
	results, err := read(os.Stdin, !*failures, *quiet)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsummary:", err)
		os.Exit(2)
	}
	if *failures {
		printFailures(results, *lines)
		return
	}
	if !*quiet {
		printSlowest(results, *slowest)
	}
}

// read collects each test's output and result; with stream, it prints a line as each test ends and passes
// through what is not a test's (build errors, a package's verdict).
func read(r io.Reader, stream, quiet bool) ([]*result, error) {
	byKey := map[string]*result{}
	var order []*result
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1024*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || e.Action == "" {
			if stream {
				fmt.Println(string(line)) // not test2json: a build error, go vet's output
			}
			continue
		}
		if e.Package == "" {
			e.Package = e.ImportPath
		}
		key := e.Package + " " + e.Test
		res := byKey[key]
		if res == nil {
			res = &result{pkg: e.Package, test: e.Test}
			byKey[key] = res
			order = append(order, res)
		}
		switch e.Action {
		case "build-output":
			res.output = append(res.output, strings.TrimRight(e.Output, "\n"))
			if stream {
				fmt.Print(e.Output)
			}
		case "build-fail":
			res.action = "fail"
		case "output":
			res.output = append(res.output, strings.TrimRight(e.Output, "\n"))
			if stream && e.Test == "" && !strings.HasPrefix(e.Output, "=== ") && !strings.HasPrefix(e.Output, "--- ") &&
				strings.TrimSpace(e.Output) != "PASS" && strings.TrimSpace(e.Output) != "FAIL" {
				fmt.Print(e.Output) // a package's own output: its verdict, a panic outside a test
			}
		case "pass", "fail", "skip":
			res.action, res.elapsed = e.Action, e.Elapsed
			if stream && e.Test != "" && (!quiet || e.Action == "fail") {
				fmt.Printf("--- %s %s (%s)\n", strings.ToUpper(e.Action), e.Test, seconds(e.Elapsed))
			}
		}
	}
	return order, sc.Err()
}

func printSlowest(results []*result, n int) {
	var top []*result
	for _, r := range results {
		if r.test != "" && !strings.Contains(r.test, "/") && r.action != "" {
			top = append(top, r)
		}
	}
	sort.SliceStable(top, func(i, j int) bool { return top[i].elapsed > top[j].elapsed })
	if len(top) > n {
		top = top[:n]
	}
	if len(top) == 0 {
		return
	}
	fmt.Printf("slowest tests:\n")
	for _, r := range top {
		fmt.Printf("  %8s  %s\n", seconds(r.elapsed), r.test)
	}
}

func printFailures(results []*result, lines int) {
	var failed []*result
	for _, r := range results {
		if r.action == "fail" || (r.test != "" && r.action == "") {
			failed = append(failed, r) // no verdict at all: the run stopped in it (a panic, the timeout)
		}
	}
	for _, r := range failed {
		name, out := r.test, r.output
		if name == "" {
			// A package's own output: a build error, a panic outside any test, a timeout. Its verdict
			// lines say nothing more than the list below.
			name, out = r.pkg, nil
			for _, l := range r.output {
				if t := strings.TrimSpace(l); t != "FAIL" && t != "PASS" && !strings.HasPrefix(t, "FAIL\t") && !strings.HasPrefix(t, "ok ") {
					out = append(out, l)
				}
			}
			if len(out) == 0 {
				continue
			}
		}
		fmt.Printf("==== %s (%s)\n", name, verdict(r))
		if len(out) > lines {
			fmt.Printf("     ... %d lines before\n", len(out)-lines)
			out = out[len(out)-lines:]
		}
		for _, l := range out {
			fmt.Println(l)
		}
		if r.test != "" {
			// Short: CI may show only the last few kilobytes of the log.
			if msgs := messages(r.output, 12); len(msgs) > 0 {
				fmt.Printf("---- %s: what the test said (the component logs left out)\n", name)
				for _, l := range msgs {
					if len(l) > 300 {
						cut := 300
						for cut > 0 && !utf8.RuneStart(l[cut]) {
							cut-- // not in the middle of a character
						}
						l = l[:cut] + " ..."
					}
					fmt.Println(l)
				}
			}
		}
	}
	fmt.Println("==== failed:")
	for _, r := range failed {
		name := r.test
		if name == "" {
			name = r.pkg
		}
		fmt.Printf("  %s (%s)\n", name, verdict(r))
	}
}

// logEntry starts an entry a test logged (t.Log, t.Error, t.Fatal, testify's failures): the file and line
// indented by four spaces; the entry's further lines are indented by eight.
var logEntry = regexp.MustCompile(`^    \S+\.go:\d+: `)

// componentLogs is the first line of an entry that quotes a component's log (the e2e framework's LogsOf):
// long, and not what failed.
var componentLogs = regexp.MustCompile(`\(last \d+ lines\):$`)

// messages returns what a test logged itself, its component log quotes left out, at most the last limit
// lines: a failure's message comes before the logs quoted after it, which a log cut to its end would lose.
func messages(output []string, limit int) []string {
	var out []string
	keep, diff := false, false
	for _, l := range output {
		field := strings.TrimSpace(l)
		switch {
		case logEntry.MatchString(l):
			keep, diff = !componentLogs.MatchString(l), false
		case !strings.HasPrefix(l, "        "):
			keep = false // go test's own lines: === RUN, --- FAIL
		case strings.HasPrefix(field, "Diff:"):
			diff = true // testify's diff says again what expected and actual said
		case strings.HasPrefix(field, "Test:"), strings.HasPrefix(field, "Messages:"):
			diff = false
		}
		if keep && !diff && field != "" && !strings.HasPrefix(field, "Test:") { // testify names the test again
			out = append(out, l)
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out
}

func verdict(r *result) string {
	if r.action == "" {
		return "did not end"
	}
	return fmt.Sprintf("%s after %s", r.action, seconds(r.elapsed))
}

func seconds(s float64) string {
	return (time.Duration(s * float64(time.Second))).Round(100 * time.Millisecond).String()
}
