//! Sigma's string values: `*` any run, `?` one character, `\*` `\?` `\\` literal; matched
//! case-insensitively (ASCII) without allocating.

/// One element of a pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Lit(u8),
    Star,
    One,
}

/// A compiled value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    toks: Vec<Tok>,
}

impl Glob {
    /// Compiles a Sigma string value (wildcards live unless escaped); `prefix`/`suffix` add the
    /// `*` of `endswith`/`contains` and `startswith`/`contains`.
    pub fn new(value: &str, star_before: bool, star_after: bool) -> Glob {
        let mut toks = Vec::new();
        if star_before {
            toks.push(Tok::Star);
        }
        let b = value.as_bytes();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'\\' if matches!(b.get(i + 1), Some(b'*' | b'?' | b'\\')) => {
                    toks.push(Tok::Lit(b[i + 1]));
                    i += 1;
                }
                b'*' => toks.push(Tok::Star),
                b'?' => toks.push(Tok::One),
                c => toks.push(Tok::Lit(c.to_ascii_lowercase())),
            }
            i += 1;
        }
        if star_after {
            toks.push(Tok::Star);
        }
        toks.dedup_by(|a, b| *a == Tok::Star && *b == Tok::Star);
        Glob { toks }
    }

    /// True when the pattern has no wildcard (an exact, case-insensitive value).
    pub fn literal(&self) -> Option<String> {
        self.toks
            .iter()
            .map(|t| match t {
                Tok::Lit(c) => Some(*c as char),
                _ => None,
            })
            .collect()
    }

    /// Case-insensitive (ASCII) match of the whole of `text`.
    pub fn matches(&self, text: &str) -> bool {
        let (p, t) = (&self.toks, text.as_bytes());
        let (mut pi, mut ti) = (0, 0);
        let mut back: Option<(usize, usize)> = None;
        while ti < t.len() {
            match p.get(pi) {
                Some(Tok::Star) => {
                    back = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                Some(Tok::One) => {
                    // One character: skip a whole UTF-8 sequence.
                    ti += utf8_len(t[ti]);
                    pi += 1;
                    continue;
                }
                Some(Tok::Lit(c)) if *c == t[ti].to_ascii_lowercase() => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
            match back {
                Some((bp, bt)) => {
                    pi = bp + 1;
                    ti = bt + 1;
                    back = Some((bp, bt + 1));
                }
                None => return false,
            }
        }
        p[pi.min(p.len())..].iter().all(|t| *t == Tok::Star)
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// `*` patterns over search identifier names (`filter_main_*`), case-sensitive.
pub(crate) fn glob_match(pattern: &str, name: &str, _case: bool) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.len() >= head.len() + tail.len()
                && name.starts_with(head)
                && (tail.is_empty() || glob_match(tail, &name[head.len()..], false) || {
                    // `a*b*c`: the rest must match somewhere after the head.
                    (head.len()..=name.len()).any(|i| glob_match(tail, &name[i..], false))
                })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_escapes_and_case() {
        let g = Glob::new("Delete*", false, false);
        assert!(g.matches("DeleteBucket"));
        assert!(g.matches("deletebucket"));
        assert!(!g.matches("UndeleteBucket"));
        assert!(Glob::new("s3browser", true, true)
            .matches("S3 Browser S3Browser/11 https://s3browser.com"));
        assert!(Glob::new("a?c", false, false).matches("abc"));
        assert!(Glob::new("a?c", false, false).matches("aéc"));
        assert!(!Glob::new("a?c", false, false).matches("ac"));
        assert!(Glob::new(r"100\*", false, false).matches("100*"));
        assert!(!Glob::new(r"100\*", false, false).matches("1000"));
        assert!(Glob::new("*x*y*", false, false).matches("aaxbbycc"));
        assert!(!Glob::new("*x*y*", false, false).matches("aayxbb"));
        assert_eq!(
            Glob::new("CreateUser", false, false).literal().as_deref(),
            Some("createuser")
        );
        assert_eq!(Glob::new("Create*", false, false).literal(), None);
    }

    #[test]
    fn identifier_patterns() {
        assert!(glob_match("filter_main_*", "filter_main_generic", true));
        assert!(glob_match("selection_*", "selection_status_null", true));
        assert!(!glob_match("filter_main_*", "filter_optional", true));
        assert!(glob_match("filter*", "filter", true));
        assert!(glob_match("sel*_null", "selection_status_null", true));
    }
}
