//! Output for people and for programs: who reads standard output, widths in screen columns, safe text,
//! and tables that are aligned columns on a terminal and tab-separated records in a pipe.

use std::io::{self, IsTerminal, Write};

use pieces_os_client::models::GroupedTimestamp;
use unicode_width::UnicodeWidthChar;

/// The width used on a terminal when neither `COLUMNS` nor the terminal says.
pub const DEFAULT_WIDTH: usize = 100;

/// Narrower than this, previews would be useless; the width is raised to it.
const MIN_WIDTH: usize = 40;

/// Who reads standard output, which decides how records are laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Screen {
    /// A person at a terminal this many columns wide: aligned columns, headings and totals, lines
    /// fitted to the width, short ids.
    Terminal {
        /// The width in screen columns.
        width: usize,
    },
    /// A program (a pipe or a file): one record per line, its fields separated by tabs, nothing cut, no
    /// headings, full ids.
    Pipe,
}

impl Screen {
    /// A terminal of [`terminal_width`] when standard output is one, else a pipe.
    pub fn of_stdout() -> Screen {
        if io::stdout().is_terminal() {
            Screen::Terminal {
                width: terminal_width(),
            }
        } else {
            Screen::Pipe
        }
    }

    /// Whether a person reads the output.
    pub fn is_terminal(self) -> bool {
        matches!(self, Screen::Terminal { .. })
    }
}

/// The width to fit lines into: `COLUMNS` when it is a positive number, else the width of the terminal
/// on standard output, else [`DEFAULT_WIDTH`]; never less than 40.
pub fn terminal_width() -> usize {
    let from_env = std::env::var("COLUMNS")
        .ok()
        .and_then(|text| text.trim().parse::<usize>().ok())
        .filter(|&width| width > 0);
    from_env
        .or_else(|| {
            terminal_size::terminal_size_of(io::stdout())
                .map(|(terminal_size::Width(columns), _)| usize::from(columns))
                .filter(|&columns| columns > 0)
        })
        .unwrap_or(DEFAULT_WIDTH)
        .max(MIN_WIDTH)
}

/// Counts screen columns the way no terminal shows wider: each character takes its own width (two for
/// CJK and emoji, none for combining marks), so an emoji ZWJ sequence counts as its parts, which some
/// terminals draw side by side; and a variation selector 16 widens the character before it to two.
#[derive(Default)]
struct Columns {
    total: usize,
    last: usize,
}

impl Columns {
    /// The columns `c` adds after what was counted so far.
    fn of(&self, c: char) -> usize {
        if c == '\u{FE0F}' {
            // Emoji presentation: a one-column symbol such as ❤ becomes a two-column emoji.
            usize::from(self.last == 1)
        } else {
            c.width().unwrap_or(0)
        }
    }

    fn add(&mut self, c: char) {
        let added = self.of(c);
        self.total += added;
        if added > 0 {
            self.last = if c == '\u{FE0F}' { 2 } else { added };
        }
    }
}

/// How many screen columns `text` takes (see [`Columns`]).
pub fn columns(text: &str) -> usize {
    let mut counted = Columns::default();
    text.chars().for_each(|c| counted.add(c));
    counted.total
}

/// `text` cut to at most `width` screen columns, ending in `…` when it was cut.
pub fn cut(text: &str, width: usize) -> String {
    if columns(text) <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut counted = Columns::default();
    let mut kept = String::new();
    for c in text.chars() {
        if counted.total + counted.of(c) > width - 1 {
            break;
        }
        counted.add(c);
        kept.push(c);
    }
    kept.push('…');
    kept
}

/// `head`, `body` and `tail` on one line of at most `width` columns: the body is cut to what the others
/// leave, so that both ends stay readable (an event's time and kind at the head, "retrying in 2.0 s" at
/// the tail). When head and tail alone are too wide, the whole line is cut at its end.
pub fn fit(head: &str, body: &str, tail: &str, width: usize) -> String {
    let fixed = columns(head) + columns(tail);
    if fixed + columns(body) <= width {
        return format!("{head}{body}{tail}");
    }
    if fixed + 1 > width {
        return cut(&format!("{head}{body}{tail}"), width);
    }
    format!("{head}{}{tail}", cut(body, width - fixed))
}

/// `text` made safe and compact for one line or one field: every run of white space and control
/// characters (newlines, tabs, escape sequences' ESC) becomes one space, and the ends are trimmed.
pub fn one_line(text: &str) -> String {
    let mut line = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            pending_space = !line.is_empty();
        } else {
            if pending_space {
                line.push(' ');
                pending_space = false;
            }
            line.push(c);
        }
    }
    line
}

/// `text` made safe to print whole on a terminal: line breaks (`\n`, and `\r\n` as one) and tabs stay,
/// every other control character (escape sequences' ESC, a lone `\r` that would return to the start of
/// the line, BEL, C1 controls) becomes a space, so a message cannot move the cursor or change colours.
pub fn safe_text(text: &str) -> String {
    let mut safe = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => safe.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            c if c.is_control() => safe.push(' '),
            c => safe.push(c),
        }
    }
    safe
}

/// A timestamp as `YYYY-MM-DD HH:MM` in UTC, or the value as received (made safe) when it does not parse.
pub fn short_time(timestamp: &GroupedTimestamp) -> String {
    match timestamp
        .unix_millis()
        .and_then(GroupedTimestamp::from_unix_millis)
    {
        // `YYYY-MM-DDTHH:MM:SS.mmmZ`: keep the date and the minutes.
        Some(utc) => utc.value[..16].replacen('T', " ", 1),
        None => one_line(&timestamp.value),
    }
}

/// A timestamp in RFC 3339, UTC, to the millisecond, for programs; the value as received (made safe)
/// when it does not parse.
pub fn full_time(timestamp: &GroupedTimestamp) -> String {
    match timestamp
        .unix_millis()
        .and_then(GroupedTimestamp::from_unix_millis)
    {
        Some(utc) => utc.value,
        None => one_line(&timestamp.value),
    }
}

/// `count` and the noun, singular or plural: `1 message`, `2 messages`.
pub fn counted(count: usize, singular: &str, plural: &str) -> String {
    format!("{count} {}", if count == 1 { singular } else { plural })
}

/// Records written as aligned columns on a terminal (with a header and headings) or as tab-separated
/// lines in a pipe (records only). The last column is the free text: on a terminal it is cut to what
/// the others leave.
pub struct Table {
    rows: Vec<Row>,
}

enum Row {
    /// Column titles, on a terminal only.
    Header(Vec<String>),
    /// One record; the cells should already be [`one_line`].
    Record(Vec<String>),
    /// A line of its own (a group heading, a blank line), on a terminal only.
    Heading(String),
}

impl Table {
    /// An empty table.
    pub fn new() -> Self {
        Table { rows: Vec::new() }
    }

    /// Adds column titles, shown on a terminal only.
    pub fn header(&mut self, titles: &[&str]) {
        self.rows.push(Row::Header(
            titles.iter().map(|&title| title.to_owned()).collect(),
        ));
    }

    /// Adds a record; the cells should already be [`one_line`].
    pub fn record(&mut self, cells: Vec<String>) {
        self.rows.push(Row::Record(cells));
    }

    /// Adds a line that is not part of the columns, shown on a terminal only.
    pub fn heading(&mut self, line: String) {
        self.rows.push(Row::Heading(line));
    }

    /// Writes the table for `screen`.
    pub fn write(&self, out: &mut impl Write, screen: Screen) -> io::Result<()> {
        match screen {
            Screen::Pipe => {
                for row in &self.rows {
                    if let Row::Record(cells) = row {
                        writeln!(out, "{}", cells.join("\t"))?;
                    }
                }
                Ok(())
            }
            Screen::Terminal { width } => self.write_aligned(out, width),
        }
    }

    fn write_aligned(&self, out: &mut impl Write, width: usize) -> io::Result<()> {
        let mut widths: Vec<usize> = Vec::new();
        for row in &self.rows {
            let cells = match row {
                Row::Header(cells) | Row::Record(cells) => cells,
                Row::Heading(_) => continue,
            };
            let leading = cells.len().saturating_sub(1);
            for (index, cell) in cells[..leading].iter().enumerate() {
                let count = columns(cell);
                match widths.get_mut(index) {
                    Some(widest) => *widest = (*widest).max(count),
                    None => widths.push(count),
                }
            }
        }
        for row in &self.rows {
            let line = match row {
                Row::Heading(line) => cut(line, width),
                Row::Header(cells) | Row::Record(cells) => {
                    let mut line = String::new();
                    let leading = cells.len().saturating_sub(1);
                    for (index, cell) in cells[..leading].iter().enumerate() {
                        line.push_str(cell);
                        let pad = widths[index] - columns(cell) + 2;
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                    let last = cells.last().map_or("", String::as_str);
                    fit(&line, last, "", width).trim_end().to_owned()
                }
            };
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_removes_newlines_tabs_and_escapes() {
        assert_eq!(one_line("  a\n\tb \u{1b}[31mred\u{7}  "), "a b [31mred");
        assert_eq!(one_line(""), "");
        assert_eq!(one_line("é 😀"), "é 😀");
    }

    #[test]
    fn safe_text_keeps_lines_and_tabs_and_neutralizes_other_controls() {
        assert_eq!(
            safe_text("a\r\n\tb\n\u{1b}[31mred\u{7}\rover\u{9b}2J"),
            "a\n\tb\n [31mred  over 2J"
        );
        assert_eq!(safe_text("é 😀\n\n"), "é 😀\n\n");
        assert_eq!(safe_text(""), "");
    }

    #[test]
    fn columns_count_wide_and_zero_width_characters() {
        assert_eq!(columns("hello"), 5);
        assert_eq!(columns("中文"), 4);
        assert_eq!(columns("e\u{301}"), 1, "a combining mark takes no column");
        assert_eq!(columns("😀"), 2);
        assert_eq!(columns("❤\u{FE0F}"), 2, "emoji presentation");
        // The family is four emoji joined by ZWJs: counted as its parts, never less than a terminal draws.
        assert_eq!(columns("👨\u{200D}👩\u{200D}👧\u{200D}👦"), 8);
    }

    #[test]
    fn cut_counts_screen_columns_and_marks_the_cut() {
        assert_eq!(cut("hello", 5), "hello");
        assert_eq!(cut("hello!", 5), "hell…");
        assert_eq!(cut("héllo wörld", 3), "hé…");
        assert_eq!(cut("x", 0), "");
        // Two columns per character: 5 columns hold two of them and the mark.
        assert_eq!(cut("中文中文", 5), "中文…");
        assert_eq!(cut("中文中文", 6), "中文…");
        assert_eq!(cut("😀😀😀😀", 7), "😀😀😀…");
        // A combining mark stays with its letter.
        assert_eq!(cut("e\u{301}e\u{301}e\u{301}", 3), "e\u{301}e\u{301}e\u{301}");
        assert_eq!(cut("e\u{301}e\u{301}e\u{301}x", 3), "e\u{301}e\u{301}…");
    }

    #[test]
    fn fit_keeps_both_ends_and_cuts_the_middle() {
        let line = fit(
            "10:22:31 disconnected: ",
            "PiecesOS is not reachable at http://127.0.0.1:39300: connection refused",
            "; retrying in 2.0 s",
            60,
        );
        assert_eq!(columns(&line), 60, "{line}");
        assert!(line.starts_with("10:22:31 disconnected: PiecesOS"), "{line}");
        assert!(line.ends_with("…; retrying in 2.0 s"), "{line}");
        assert_eq!(fit("a ", "b", " c", 10), "a b c");
        // Head and tail alone too wide: the line is cut at its end.
        assert_eq!(fit("0123456789", "x", "abc", 8), "0123456…");
    }

    #[test]
    fn times_are_shown_in_utc_to_the_minute_or_in_full() {
        let stamp = GroupedTimestamp::new("2024-05-01T12:22:33.123+02:00");
        assert_eq!(short_time(&stamp), "2024-05-01 10:22");
        assert_eq!(full_time(&stamp), "2024-05-01T10:22:33.123Z");
        assert_eq!(short_time(&GroupedTimestamp::new("yesterday\n")), "yesterday");
        assert_eq!(full_time(&GroupedTimestamp::new("yesterday\n")), "yesterday");
    }

    fn sample() -> Table {
        let mut table = Table::new();
        table.header(&["ID", "ROLE", "TEXT"]);
        table.heading("conversation c1 (2 messages)".to_owned());
        table.record(vec![
            "a".into(),
            "USER".into(),
            "a long text that will not fit in the line 中文".into(),
        ]);
        table.record(vec!["abcdef".into(), "ASSISTANT".into(), "short".into()]);
        table
    }

    #[test]
    fn tables_align_and_fit_a_terminal() {
        let mut out = Vec::new();
        sample().write(&mut out, Screen::Terminal { width: 30 }).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "ID      ROLE       TEXT");
        assert_eq!(lines[1], "conversation c1 (2 messages)");
        assert_eq!(lines[2], "a       USER       a long tex…");
        assert_eq!(lines[3], "abcdef  ASSISTANT  short");
        assert!(lines.iter().all(|line| columns(line) <= 30));
        // Wide characters in a column pad by columns, not characters.
        let mut table = Table::new();
        table.record(vec!["中文".into(), "x".into()]);
        table.record(vec!["abcd".into(), "y".into()]);
        let mut out = Vec::new();
        table.write(&mut out, Screen::Terminal { width: 40 }).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "中文  x\nabcd  y\n");
    }

    #[test]
    fn tables_are_tab_separated_records_in_a_pipe() {
        let mut out = Vec::new();
        sample().write(&mut out, Screen::Pipe).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\tUSER\ta long text that will not fit in the line 中文\nabcdef\tASSISTANT\tshort\n"
        );
    }
}
