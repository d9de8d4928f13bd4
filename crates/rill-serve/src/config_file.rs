//! TF Serving's model config file (`--model_config_file`): a `ModelServerConfig` in protobuf
//! text format naming several models, each with a base path, a version policy and version
//! labels:
//!
//! ```text
//! model_config_list {
//!   config {
//!     name: 'fashion'
//!     base_path: '/models/fashion'
//!     model_platform: 'tensorflow'
//!     model_version_policy { specific { versions: 1 versions: 2 } }
//!     version_labels { key: 'stable' value: 1 }
//!     version_labels { key: 'canary' value: 2 }
//!   }
//! }
//! ```
//!
//! Policies are `latest { num_versions: N }`, `all {}` and `specific { versions: … }`. The
//! text-format reader is small and strict: it knows these fields and refuses any other by
//! name and line, so a typo is an error rather than a model silently served another way.

use crate::store::VersionPolicy;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The largest config file read, and the deepest nesting: far above real ones.
const MAX_BYTES: usize = 1 << 20;
const MAX_DEPTH: usize = 16;

/// One model of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelEntry {
    /// The name clients use.
    pub name: String,
    /// The folder of numbered version folders.
    pub base_path: PathBuf,
    /// Which versions are served.
    pub policy: VersionPolicy,
    /// Version labels: `stable` → 1.
    pub labels: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    Num(String),
    Punct(char),
}

fn tokens(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(&c) = chars.peek() {
        match c {
            '\n' => {
                line += 1;
                chars.next();
            }
            c if c.is_whitespace() => {
                chars.next();
            }
            '#' => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '{' | '}' | '<' | '>' | ':' | '[' | ']' | ',' | ';' => {
                out.push((Token::Punct(c), line));
                chars.next();
            }
            '"' | '\'' => {
                chars.next();
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None | Some('\n') => {
                            return Err(format!("line {line}: unterminated string"))
                        }
                        Some(q) if q == c => break,
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some(e) => s.push(e),
                            None => return Err(format!("line {line}: unterminated string")),
                        },
                        Some(ch) => s.push(ch),
                    }
                }
                out.push((Token::Str(s), line));
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' => {
                let mut s = String::new();
                while chars
                    .peek()
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || "-+.".contains(c))
                {
                    s.extend(chars.next());
                }
                out.push((Token::Num(s), line));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = String::new();
                while chars
                    .peek()
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                {
                    s.extend(chars.next());
                }
                out.push((Token::Ident(s), line));
            }
            other => return Err(format!("line {line}: unexpected character {other:?}")),
        }
    }
    Ok(out)
}

/// A field's value: text (a string, number or enum name) or a message of fields.
#[derive(Debug)]
enum Value {
    Scalar(String, usize),
    Message(Vec<(String, Value)>, usize),
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
}

impl Parser {
    fn line(&self) -> usize {
        self.tokens
            .get(self.at)
            .or(self.tokens.last())
            .map_or(1, |t| t.1)
    }
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|t| &t.0)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).map(|t| t.0.clone());
        self.at += 1;
        t
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(&Token::Punct(c)) {
            self.at += 1;
            return true;
        }
        false
    }

    /// Fields until `close` (or the end, at the top level).
    fn fields(
        &mut self,
        close: Option<char>,
        depth: usize,
    ) -> Result<Vec<(String, Value)>, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "line {}: nested more than {MAX_DEPTH} deep",
                self.line()
            ));
        }
        let mut out = Vec::new();
        loop {
            match (self.peek(), close) {
                (None, None) => return Ok(out),
                (None, Some(c)) => return Err(format!("line {}: missing '{c}'", self.line())),
                (Some(Token::Punct(p)), Some(c)) if *p == c => {
                    self.at += 1;
                    return Ok(out);
                }
                _ => {}
            }
            let line = self.line();
            let Some(Token::Ident(name)) = self.next() else {
                return Err(format!("line {line}: expected a field name"));
            };
            let colon = self.eat(':');
            let open = match self.peek() {
                Some(Token::Punct('{')) => Some('}'),
                Some(Token::Punct('<')) => Some('>'),
                _ => None,
            };
            if let Some(end) = open {
                self.at += 1;
                let inner = self.fields(Some(end), depth + 1)?;
                out.push((name, Value::Message(inner, line)));
            } else if !colon {
                return Err(format!("line {line}: expected ':' or '{{' after '{name}'"));
            } else if self.eat('[') {
                // `versions: [1, 2]`, the list shorthand.
                while !self.eat(']') {
                    out.push((name.clone(), self.scalar()?));
                    self.eat(',');
                }
            } else {
                out.push((name, self.scalar()?));
            }
            // Fields may be separated by ',' or ';'.
            if !self.eat(',') {
                self.eat(';');
            }
        }
    }

    fn scalar(&mut self) -> Result<Value, String> {
        let line = self.line();
        match self.next() {
            Some(Token::Str(mut s)) => {
                // Adjacent strings join, as in protobuf's text format.
                while let Some(Token::Str(more)) = self.peek().cloned() {
                    s.push_str(&more);
                    self.at += 1;
                }
                Ok(Value::Scalar(s, line))
            }
            Some(Token::Num(n)) | Some(Token::Ident(n)) => Ok(Value::Scalar(n, line)),
            _ => Err(format!("line {line}: expected a value")),
        }
    }
}

fn unknown(field: &str, line: usize, within: &str, known: &str) -> String {
    format!("line {line}: unknown field '{field}' in {within} (known: {known})")
}

fn message<'a>(v: &'a Value, field: &str) -> Result<&'a [(String, Value)], String> {
    match v {
        Value::Message(m, _) => Ok(m),
        Value::Scalar(_, line) => Err(format!(
            "line {line}: '{field}' must be a message {{ ... }}"
        )),
    }
}

fn text<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    match v {
        Value::Scalar(s, _) => Ok(s),
        Value::Message(_, line) => Err(format!(
            "line {line}: '{field}' must be a value, not a message"
        )),
    }
}

fn number(v: &Value, field: &str) -> Result<u64, String> {
    let s = text(v, field)?;
    s.parse::<u64>().map_err(|_| {
        let line = match v {
            Value::Scalar(_, l) | Value::Message(_, l) => *l,
        };
        format!("line {line}: '{field}' must be a whole number ≥ 0, found {s:?}")
    })
}

fn policy(fields: &[(String, Value)]) -> Result<VersionPolicy, String> {
    let [(kind, v)] = fields else {
        return Err("model_version_policy holds exactly one of latest, all, specific".into());
    };
    let inner = message(v, kind)?;
    match kind.as_str() {
        "latest" => {
            let mut n = 1;
            for (f, v) in inner {
                match f.as_str() {
                    "num_versions" => n = number(v, f)? as usize,
                    _ => return Err(unknown(f, line_of(v), "latest", "num_versions")),
                }
            }
            Ok(VersionPolicy::Latest(n.max(1)))
        }
        "all" => match inner.first() {
            None => Ok(VersionPolicy::All),
            Some((f, v)) => Err(unknown(f, line_of(v), "all", "nothing")),
        },
        "specific" => {
            let mut versions = Vec::new();
            for (f, v) in inner {
                match f.as_str() {
                    "versions" => versions.push(number(v, f)?),
                    _ => return Err(unknown(f, line_of(v), "specific", "versions")),
                }
            }
            if versions.is_empty() {
                return Err("a specific version policy needs at least one 'versions'".into());
            }
            Ok(VersionPolicy::Specific(versions))
        }
        other => Err(unknown(
            other,
            line_of(v),
            "model_version_policy",
            "latest, all, specific",
        )),
    }
}

fn line_of(v: &Value) -> usize {
    match v {
        Value::Scalar(_, l) | Value::Message(_, l) => *l,
    }
}

fn entry(fields: &[(String, Value)], line: usize) -> Result<ModelEntry, String> {
    let (mut name, mut base_path) = (None, None);
    let mut version_policy = VersionPolicy::default();
    let mut labels = BTreeMap::new();
    for (f, v) in fields {
        match f.as_str() {
            "name" => name = Some(text(v, f)?.to_string()),
            "base_path" => base_path = Some(PathBuf::from(text(v, f)?)),
            // Every platform is served the same way: by the model file's kind.
            "model_platform" => {
                text(v, f)?;
            }
            "model_version_policy" => version_policy = policy(message(v, f)?)?,
            "version_labels" => {
                let (mut key, mut value) = (None, None);
                for (lf, lv) in message(v, f)? {
                    match lf.as_str() {
                        "key" => key = Some(text(lv, lf)?.to_string()),
                        "value" => value = Some(number(lv, lf)?),
                        _ => return Err(unknown(lf, line_of(lv), "version_labels", "key, value")),
                    }
                }
                match (key, value) {
                    (Some(k), Some(v)) => {
                        labels.insert(k, v);
                    }
                    _ => {
                        return Err(format!(
                            "line {}: version_labels needs a key and a value",
                            line_of(v)
                        ))
                    }
                }
            }
            _ => {
                return Err(unknown(
                    f,
                    line_of(v),
                    "config",
                    "name, base_path, model_platform, model_version_policy, version_labels",
                ))
            }
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or(format!("line {line}: a config without a name"))?;
    let base_path = base_path.ok_or(format!("line {line}: model '{name}' has no base_path"))?;
    if let VersionPolicy::Specific(vs) = &version_policy {
        if let Some((label, v)) = labels.iter().find(|(_, v)| !vs.contains(v)) {
            return Err(format!(
                "model '{name}': the label '{label}' names version {v}, which its policy does not serve"
            ));
        }
    }
    Ok(ModelEntry {
        name,
        base_path,
        policy: version_policy,
        labels,
    })
}

/// Reads a model config file's text: every model it lists, names unique.
pub fn parse(text: &str) -> Result<Vec<ModelEntry>, String> {
    if text.len() > MAX_BYTES {
        return Err(format!("more than {MAX_BYTES} bytes"));
    }
    let mut p = Parser {
        tokens: tokens(text)?,
        at: 0,
    };
    let top = p.fields(None, 0)?;
    let mut models = Vec::new();
    for (f, v) in &top {
        if f != "model_config_list" {
            return Err(unknown(f, line_of(v), "the file", "model_config_list"));
        }
        for (cf, cv) in message(v, f)? {
            if cf != "config" {
                return Err(unknown(cf, line_of(cv), "model_config_list", "config"));
            }
            models.push(entry(message(cv, cf)?, line_of(cv))?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = models.iter().find(|m| !seen.insert(m.name.clone())) {
        return Err(format!("two models are named '{}'", dup.name));
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tf_servings_examples_read_as_they_mean() {
        let text = r#"
            # Two models, as in TF Serving's documentation.
            model_config_list {
              config {
                name: 'my_first_model'
                base_path: '/tmp/my_first_model/'
                model_platform: 'tensorflow'
                model_version_policy { specific { versions: 42 versions: 43 } }
                version_labels { key: 'stable' value: 42 }
                version_labels { key: 'canary' value: 43 }
              }
              config: {
                name: "second", base_path: "/m/second",
                model_version_policy: { latest: { num_versions: 2 } }
              }
              config < name: 'third' base_path: '/m/3' model_version_policy { all {} } >
              config { name: 'fourth' base_path: '/m/4' model_version_policy { specific { versions: [1, 2] } } }
            }
        "#;
        let m = parse(text).unwrap();
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].name, "my_first_model");
        assert_eq!(m[0].base_path, PathBuf::from("/tmp/my_first_model/"));
        assert_eq!(m[0].policy, VersionPolicy::Specific(vec![42, 43]));
        assert_eq!(m[0].labels["stable"], 42);
        assert_eq!(m[0].labels["canary"], 43);
        assert_eq!(m[1].policy, VersionPolicy::Latest(2));
        assert!(m[1].labels.is_empty());
        assert_eq!(m[2].policy, VersionPolicy::All);
        assert_eq!(m[3].policy, VersionPolicy::Specific(vec![1, 2]));
    }

    #[test]
    fn mistakes_are_named_with_their_line() {
        let cases = [
            ("model_config_list { config { name: 'a' base_pth: '/x' } }", "line 1: unknown field 'base_pth' in config"),
            ("model_config_list { config { name: 'a' } }", "model 'a' has no base_path"),
            ("model_config_list {\n config { name: 'a' base_path: '/x'\n", "missing '}'"),
            ("model_config_list { config { name: 'a' base_path: '/x' model_version_policy { newest {} } } }", "unknown field 'newest'"),
            ("model_config_list { config { name: 'a' base_path: '/x' model_version_policy { specific { versions: -1 } } } }", "whole number"),
            ("model_config_list { config { name: 'a' base_path: '/x' } config { name: 'a' base_path: '/y' } }", "two models are named 'a'"),
            ("model_config_list { config { name: 'a' base_path: '/x' model_version_policy { specific { versions: 1 } } version_labels { key: 'b' value: 2 } } }", "does not serve"),
            ("model_config_list { config { name: 'unterminated } }", "unterminated string"),
            (&"a { ".repeat(40), "nested more than"),
        ];
        for (text, want) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
