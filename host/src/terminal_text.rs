//! Text made safe to print on a terminal: every line the console and the progress display
//! print as text goes through [`shown`].

/// Text as it is safe to print on a terminal: control characters (an escape sequence in
/// a blob name could clear the screen or retitle the window) are shown escaped, `\u{1b}`.
/// JSON output escapes them itself.
pub fn shown(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
}
