//! Scenario files with one value changed, for robustness tests: every `key = value` line of a
//! file in turn gets each of a set of replacement values. Tests in other crates use it to check
//! that whatever passes validation also simulates and optimises without panicking.

/// One variant: the 1-based line changed, the line as written, and the whole file.
#[derive(Debug, Clone)]
pub struct Variant {
    /// Line number (1-based) that was replaced.
    pub line: usize,
    /// The replacement line, `key = value`.
    pub text: String,
    /// The file with that line replaced.
    pub source: String,
}

/// Every variant of `src` in which one `key = value` line (not a comment) gets one of `values`,
/// in file order, then value order.
pub fn variants(src: &str, values: &[&str]) -> Vec<Variant> {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((key, _)) = line.split_once(" = ") else {
            continue;
        };
        if key.trim_start().starts_with('#') {
            continue;
        }
        for value in values {
            let text = format!("{key} = {value}");
            let mut changed: Vec<&str> = lines.clone();
            changed[i] = &text;
            out.push(Variant {
                line: i + 1,
                source: changed.join("\n"),
                text,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_key_line_gets_each_value_and_comments_are_left_alone() {
        let src = "a = 1\n# b = 2\n\n[t]\nc = { x = 1 }\n";
        let v = super::variants(src, &["7", "-1"]);
        let got: Vec<(usize, &str)> = v.iter().map(|v| (v.line, v.text.as_str())).collect();
        assert_eq!(
            got,
            [(1, "a = 7"), (1, "a = -1"), (5, "c = 7"), (5, "c = -1")]
        );
        assert_eq!(v[2].source, "a = 1\n# b = 2\n\n[t]\nc = 7");
    }
}
