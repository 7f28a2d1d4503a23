package view

import (
	"strings"
	"unicode/utf8"
)

// A line of a view is spans of text, each drawn in one style. The views build lines from spans rather
// than strings so that a line is cut to the terminal's width, and a table's columns are aligned, by the
// characters a person sees: colour is added only when the line is written, and only from a span's
// style, which the view chooses; never from the text.

// span is text drawn in one style.
type span struct {
	text  string
	style Style
}

// line is a line of a view, without its newline.
type line []span

// plain is text of the view's own, or text from the server already made Printable, in no style.
func plain(text string) span { return span{text: text} }

// styled is text in style.
func styled(text string, style Style) span { return span{text: text, style: style} }

// textLine is a line of one span in no style.
func textLine(text string) line { return line{plain(text)} }

// width is the number of characters the line shows.
func (l line) width() int {
	n := 0
	for _, s := range l {
		n += utf8.RuneCountInString(s.text)
	}
	return n
}

// String is the line without colour.
func (l line) String() string {
	var b strings.Builder
	for _, s := range l {
		b.WriteString(s.text)
	}
	return b.String()
}

// cut shortens the line to width characters, the last of them "…"; 0 is no limit.
func (l line) cut(width int) line {
	if width <= 0 || l.width() <= width {
		return l
	}
	var out line
	room := width - 1
	for _, s := range l {
		if room == 0 {
			break
		}
		if n := utf8.RuneCountInString(s.text); n <= room {
			out = append(out, s)
			room -= n
			continue
		}
		out = append(out, span{text: string([]rune(s.text)[:room]), style: s.style})
		room = 0
	}
	return append(out, plain("…"))
}

// write appends the line and its newline to b, coloured when color is true. Every span's text goes
// through Printable once more (a no-op for text that is printable already), so that whatever a view
// puts in a span, the only control sequences written are the styles' own.
func (l line) write(b *strings.Builder, color bool) {
	for _, s := range l {
		text := Printable(s.text)
		if code := s.style.sgr(); color && code != "" && text != "" {
			b.WriteString(code)
			b.WriteString(text)
			b.WriteString(sgrReset)
			continue
		}
		b.WriteString(text)
	}
	b.WriteString("\n")
}

// table lays rows of cells out in columns: each cell but a row's last padded with spaces to its column's
// width and two more, as text/tabwriter does, by the characters shown (the cells' colour is not counted).
func table(rows [][]span) []line {
	var widths []int
	for _, row := range rows {
		for i, cell := range row[:max(len(row)-1, 0)] {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell.text))
		}
	}
	lines := make([]line, 0, len(rows))
	for _, row := range rows {
		var l line
		for i, cell := range row {
			l = append(l, cell)
			if i < len(row)-1 {
				l = append(l, plain(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell.text)+2)))
			}
		}
		lines = append(lines, l)
	}
	return lines
}
