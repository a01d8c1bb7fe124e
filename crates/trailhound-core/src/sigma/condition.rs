//! Sigma conditions: `and`, `or`, `not`, parentheses, `1 of X*` / `all of X*`, `1 of them` /
//! `all of them` (Sigma specification, "Condition"). Precedence: `not` binds tightest, then `and`,
//! then `or`. `X*` patterns are resolved against the rule's search identifiers when the rule is
//! compiled.
use super::glob_match;

/// A parsed condition over the indexes of a rule's search identifiers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// One search identifier.
    Search(usize),
    /// All of them must match (`and`, `all of`).
    All(Vec<Expr>),
    /// At least one must match (`or`, `1 of`).
    Any(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Word(String),
    Open,
    Close,
}

fn lex(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut Vec<Tok>| {
        if !word.is_empty() {
            out.push(Tok::Word(std::mem::take(word)));
        }
    };
    for c in s.chars() {
        match c {
            '(' => {
                flush(&mut word, &mut out);
                out.push(Tok::Open);
            }
            ')' => {
                flush(&mut word, &mut out);
                out.push(Tok::Close);
            }
            c if c.is_whitespace() => flush(&mut word, &mut out),
            c => word.push(c),
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Parses `text` against the rule's search identifiers `names`.
pub fn parse(text: &str, names: &[String]) -> Result<Expr, String> {
    let toks = lex(text);
    let mut p = Parser {
        toks: &toks,
        at: 0,
        names,
    };
    let e = p.or()?;
    if p.at != toks.len() {
        return Err(format!("unexpected {:?} in condition {text:?}", toks[p.at]));
    }
    Ok(e)
}

struct Parser<'a> {
    toks: &'a [Tok],
    at: usize,
    names: &'a [String],
}

impl Parser<'_> {
    fn word(&self) -> Option<&str> {
        match self.toks.get(self.at) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.word() == Some("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(one_or(parts, Expr::Any))
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.not()?];
        while self.word() == Some("and") {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(one_or(parts, Expr::All))
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.word() == Some("not") {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        match self.toks.get(self.at) {
            Some(Tok::Open) => {
                self.at += 1;
                let e = self.or()?;
                if self.toks.get(self.at) != Some(&Tok::Close) {
                    return Err("a parenthesis is not closed".into());
                }
                self.at += 1;
                Ok(e)
            }
            Some(Tok::Word(w)) if w == "1" || w == "all" || w == "any" => {
                let all = w == "all";
                self.at += 1;
                if self.word() != Some("of") {
                    return Err(format!("expected `of` after `{w}`"));
                }
                self.at += 1;
                let pattern = self
                    .word()
                    .ok_or("expected a search identifier pattern after `of`")?
                    .to_owned();
                self.at += 1;
                let hits: Vec<Expr> = self
                    .names
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| {
                        if pattern == "them" {
                            !n.starts_with('_')
                        } else {
                            glob_match(&pattern, n, false)
                        }
                    })
                    .map(|(i, _)| Expr::Search(i))
                    .collect();
                if hits.is_empty() {
                    return Err(format!("`{pattern}` names no search identifier"));
                }
                Ok(if all {
                    one_or(hits, Expr::All)
                } else {
                    one_or(hits, Expr::Any)
                })
            }
            Some(Tok::Word(w)) => {
                let i = self
                    .names
                    .iter()
                    .position(|n| n == w)
                    .ok_or_else(|| format!("unknown search identifier `{w}`"))?;
                self.at += 1;
                Ok(Expr::Search(i))
            }
            Some(Tok::Close) => Err("unexpected `)`".into()),
            None => Err("the condition ends too early".into()),
        }
    }
}

fn one_or(mut parts: Vec<Expr>, make: fn(Vec<Expr>) -> Expr) -> Expr {
    if parts.len() == 1 {
        parts.remove(0)
    } else {
        make(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_and_groups() {
        let n = names(&["selection", "filter_main_a", "filter_main_b", "sel_x"]);
        assert_eq!(
            parse("selection and not 1 of filter_main_*", &n).unwrap(),
            Expr::All(vec![
                Expr::Search(0),
                Expr::Not(Box::new(Expr::Any(vec![Expr::Search(1), Expr::Search(2)])))
            ])
        );
        // `not` > `and` > `or`.
        assert_eq!(
            parse("selection or sel_x and not filter_main_a", &n).unwrap(),
            Expr::Any(vec![
                Expr::Search(0),
                Expr::All(vec![Expr::Search(3), Expr::Not(Box::new(Expr::Search(1)))])
            ])
        );
        assert_eq!(
            parse("(selection or sel_x) and all of filter_main_*", &n).unwrap(),
            Expr::All(vec![
                Expr::Any(vec![Expr::Search(0), Expr::Search(3)]),
                Expr::All(vec![Expr::Search(1), Expr::Search(2)])
            ])
        );
        assert_eq!(
            parse("1 of them", &n).unwrap(),
            Expr::Any((0..4).map(Expr::Search).collect())
        );
    }

    #[test]
    fn mistakes_are_errors() {
        let n = names(&["selection"]);
        assert!(parse("selection and", &n).is_err());
        assert!(parse("(selection", &n).is_err());
        assert!(parse("nope", &n).is_err());
        assert!(parse("1 of filter*", &n).is_err());
        assert!(parse("selection | count() > 5", &n).is_err());
    }
}
