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

// Command verify-docs checks README.md and every Markdown file under docs/ (make verify):
//
//   - README.md has at most 200 lines;
//   - no work-log leftovers: issue numbers ("issue 12", "#12"), work-log numbering ("session 3", "step 4 of
//     the work"), commit hashes (7 to 40 hex digits, with both digits and letters), paths outside the
//     repository ("../shared");
//   - every relative link names a file that exists, and an anchor that one of its headings makes;
//   - the `kubectl release status` picture in README.md is what the plugin prints for that release.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/triton-io/triton/pkg/apis/releases/v1alpha1"
	"github.com/triton-io/triton/pkg/cli/view"
)

// MaxReadmeLines is how long README.md may be.
const MaxReadmeLines = 200

func main() {
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	problems, err := Check(*root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify-docs:", err)
		os.Exit(2)
	}
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p)
	}
	if len(problems) > 0 {
		os.Exit(1)
	}
}

// Check returns every problem found in README.md and docs/ under root.
func Check(root string) ([]string, error) {
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".md") {
			rel, _ := filepath.Rel(root, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files[1:])
	texts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		texts[f] = string(b)
	}

	var problems []string
	if n := strings.Count(strings.TrimRight(texts["README.md"], "\n"), "\n") + 1; n > MaxReadmeLines {
		problems = append(problems, fmt.Sprintf("README.md: %d lines, more than %d: move detail into docs/", n, MaxReadmeLines))
	}
	for _, f := range files {
		for _, p := range Leftovers(texts[f]) {
			problems = append(problems, f+":"+p)
		}
		for _, p := range Links(root, f, texts[f]) {
			problems = append(problems, f+":"+p)
		}
	}
	problems = append(problems, StatusPicture(texts["README.md"])...)
	return problems, nil
}

var leftovers = []struct {
	re   *regexp.Regexp
	what string
}{
	{regexp.MustCompile(`(?i)\bissues?\s*#?\d+`), "an issue number"},
	{regexp.MustCompile(`(?:^|[\s(\[,;:])#\d+\b`), "an issue number"},
	{regexp.MustCompile(`(?i)\bsessions?\s+\d+`), "work-log numbering"},
	{regexp.MustCompile(`(?i)\bsession-\d+`), "work-log numbering"},
	{regexp.MustCompile(`(?i)\bstep\s+\d+\s+of\s+the\s+work`), "work-log numbering"},
	{regexp.MustCompile(`\.\./shared\b`), "a path outside the repository"},
}

var hexRun = regexp.MustCompile(`\b[0-9a-f]{7,40}\b`)

// Leftovers finds what a work log leaves in a text: each as "LINE: what: the match".
func Leftovers(text string) []string {
	var out []string
	for n, line := range strings.Split(text, "\n") {
		for _, l := range leftovers {
			if m := l.re.FindString(line); m != "" {
				out = append(out, fmt.Sprintf("%d: %s: %q", n+1, l.what, strings.TrimSpace(m)))
			}
		}
		for _, loc := range hexRun.FindAllStringIndex(line, -1) {
			m := line[loc[0]:loc[1]]
			// A commit hash has digits and letters; a number or a word of the letters a-f is neither. After a
			// hyphen it is the hash suffix of an object's name (nginx-5d4b9c7f8, a ControllerRevision).
			if loc[0] > 0 && line[loc[0]-1] == '-' {
				continue
			}
			if strings.ContainsAny(m, "0123456789") && strings.ContainsAny(m, "abcdef") {
				out = append(out, fmt.Sprintf("%d: a commit hash (or another hex string: keep digests and ids out of the docs): %q", n+1, m))
			}
		}
	}
	return out
}

var (
	link    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	heading = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
)

// Links checks the relative links of file (a path from root): the file they name exists, and so does the
// anchor, when the file is Markdown.
func Links(root, file, text string) []string {
	var out []string
	anchors := map[string]map[string]bool{}
	for n, line := range lines(text) {
		for _, m := range link.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			path, anchor, _ := strings.Cut(target, "#")
			resolved := file
			if path != "" {
				resolved = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(file), path)))
				if strings.HasPrefix(resolved, "../") {
					out = append(out, fmt.Sprintf("%d: a link outside the repository: %s", n+1, target))
					continue
				}
				if _, err := os.Stat(filepath.Join(root, resolved)); err != nil {
					out = append(out, fmt.Sprintf("%d: a link to a file that does not exist: %s", n+1, target))
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(resolved, ".md") {
				continue
			}
			if anchors[resolved] == nil {
				b, err := os.ReadFile(filepath.Join(root, resolved))
				if err != nil {
					out = append(out, fmt.Sprintf("%d: %v", n+1, err))
					continue
				}
				anchors[resolved] = Anchors(string(b))
			}
			if !anchors[resolved][anchor] {
				out = append(out, fmt.Sprintf("%d: a link to an anchor %s has no heading for: %s", n+1, resolved, target))
			}
		}
	}
	return out
}

// Anchors are the anchors GitHub makes for a Markdown text's headings.
func Anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range lines(text) {
		m := heading.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := Slug(m[2])
		if k := seen[slug]; k > 0 {
			out[fmt.Sprintf("%s-%d", slug, k)] = true
		} else {
			out[slug] = true
		}
		seen[slug]++
	}
	return out
}

// Slug is GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
func Slug(h string) string {
	// A link's text stands for the link.
	h = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(h, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// lines are a Markdown text's lines, with those of code blocks blanked: a link or a heading in a code
// block is neither.
func lines(text string) []string {
	out := strings.Split(text, "\n")
	in := false
	for i, l := range out {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			in = !in
			out[i] = ""
			continue
		}
		if in {
			out[i] = ""
		}
	}
	return out
}

// pictureCommand starts the status picture in README.md.
const pictureCommand = "$ kubectl release status nginx-v2"

// pictureNow is the moment of the README's picture: the release started at pictureNow-3m10s, its canary
// was Smoked 12s later and has waited for `next` since.
var pictureNow = time.Date(2026, 11, 25, 10, 3, 10, 0, time.UTC)

// pictureRelease is the release the README's picture shows: nginx-v2 of the tutorial, its canary Smoked
// and waiting for `next`.
func pictureRelease() *v1alpha1.Release {
	pending := func(index, target int32) v1alpha1.ReleaseBatch {
		return v1alpha1.ReleaseBatch{Index: index, Replicas: 1, Target: target, Phase: v1alpha1.BatchPending}
	}
	started := metav1.NewTime(pictureNow.Add(-3*time.Minute - 10*time.Second))
	smoked := metav1.NewTime(started.Add(12 * time.Second))
	return &v1alpha1.Release{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "nginx-v2"},
		Spec: v1alpha1.ReleaseSpec{
			CloneSetName: "nginx",
			Action:       v1alpha1.ActionUpdate,
			Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{
				{Name: "nginx", Image: "nginx:1.28"},
			}}},
			Strategy: v1alpha1.ReleaseStrategy{Mode: v1alpha1.ModeManual, Canary: 1},
		},
		Status: v1alpha1.ReleaseStatus{
			Phase:        v1alpha1.ReleaseProgressing,
			CurrentBatch: 1,
			Batches: []v1alpha1.ReleaseBatch{
				{Index: 1, Canary: true, Replicas: 1, Target: 1, Phase: v1alpha1.BatchSmoked, StartedAt: &started, SmokedAt: &smoked,
					Pods: []v1alpha1.BatchPod{{Name: "nginx-9vgk9", Phase: corev1.PodRunning}}},
				pending(2, 2),
				pending(3, 3),
			},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionAwaitingNext, Status: metav1.ConditionTrue}},
			History: []v1alpha1.ReleaseHistoryEntry{
				{Action: "start", User: "triton-controller", Time: started, ToBatch: 1, FromPhase: "Pending", ToPhase: "Progressing/Smoking"},
				{Action: "smoked", User: "triton-controller", Time: smoked, FromBatch: 1, ToBatch: 1, FromPhase: "Progressing/Smoking", ToPhase: "Progressing/Smoked"},
			},
		},
	}
}

// StatusPicture checks that README.md's status picture is what the plugin prints for pictureRelease.
func StatusPicture(readme string) []string {
	var want bytes.Buffer
	if err := view.StatusWith(&want, pictureRelease(), view.Options{Now: pictureNow}); err != nil {
		return []string{"README.md: the status picture: " + err.Error()}
	}
	sc := bufio.NewScanner(strings.NewReader(readme))
	var got []string
	found, in := false, false
	for sc.Scan() {
		line := sc.Text()
		switch {
		case !found && line == pictureCommand:
			found, in = true, true
		case in && strings.HasPrefix(line, "```"):
			in = false
		case in:
			got = append(got, line)
		}
	}
	if !found {
		return []string{fmt.Sprintf("README.md: no status picture (a console block with %q)", pictureCommand)}
	}
	if g, w := strings.Join(got, "\n"), strings.TrimRight(want.String(), "\n"); g != w {
		return []string{fmt.Sprintf("README.md: the status picture is not what `kubectl release status` prints now; it prints:\n%s", w)}
	}
	return nil
}
