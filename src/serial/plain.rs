//! The common case of obsc's YAML, written directly: block mappings and sequences of integers,
//! booleans and strings that need no quoting. This is most of what a large platform emits (a
//! collector's Deployment, its Role, its NetworkPolicy), and serde-saphyr, which decides
//! every scalar's style with care, took a quarter of a build's time at 5,000 namespaces.
//!
//! It writes exactly what serde-saphyr writes for these values, and nothing else: anything it
//! cannot be sure of (a string that might need quotes, a multi-line string that is not a plain
//! literal block, a float, an empty mapping in a sequence, a sequence of sequences) makes it
//! give up, and the caller writes the whole value with serde-saphyr. The tests in `serial.rs`
//! hold the two writers equal.
//!
//! Layout (serde-saphyr's): a mapping's entries two spaces in from its key; a sequence's items
//! (`- `) at its key's indentation; a mapping in a sequence starts on the dash's line; an empty
//! mapping is `{}`, an empty sequence `[]`.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// The value is outside the subset: write it with serde-saphyr.
#[derive(Debug)]
pub struct Unsupported;

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("outside the plain subset")
    }
}

impl std::error::Error for Unsupported {}

impl ser::Error for Unsupported {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Unsupported
    }
}

type Result<T> = std::result::Result<T, Unsupported>;

/// The YAML of `value`, or `None` if it is outside the subset.
pub fn yaml<T: Serialize + ?Sized>(value: &T) -> Option<String> {
    let mut w = Writer { out: String::with_capacity(1024), at: At::Top };
    value.serialize(&mut w).ok()?;
    Some(w.out)
}

/// Where the next value goes.
#[derive(Debug, Clone, Copy)]
enum At {
    /// The document itself.
    Top,
    /// After `key:`; the key is at this indentation.
    Key(usize),
    /// After `- `; the dash is at this indentation.
    Dash(usize),
}

struct Writer {
    out: String,
    at: At,
}

impl Writer {
    fn scalar(&mut self, text: &str) -> Result<()> {
        match self.at {
            At::Key(_) => self.out.push(' '),
            At::Dash(_) => {}
            At::Top => return Err(Unsupported),
        }
        self.out.push_str(text);
        self.out.push('\n');
        Ok(())
    }

    /// A multi-line mapping value as a literal block (`|`, or `|-` without a final newline),
    /// its lines two in from the key. Only printable ASCII and tabs, a first line that starts
    /// with neither a space, a tab nor a line break (which could need an indentation
    /// indicator), and at most one final newline (more needs `|+`).
    fn literal(&mut self, text: &str) -> Result<()> {
        let At::Key(indent) = self.at else { return Err(Unsupported) };
        let body = text.strip_suffix('\n').unwrap_or(text);
        let printable = text.bytes().all(|b| matches!(b, b'\n' | b'\t' | 0x20..=0x7e));
        if !printable || body.is_empty() || body.ends_with('\n') || body.starts_with([' ', '\t', '\n']) {
            return Err(Unsupported);
        }
        self.out.push_str(if body.len() == text.len() { " |-\n" } else { " |\n" });
        for line in body.split('\n') {
            if !line.is_empty() {
                self.indent(indent + 2);
                self.out.push_str(line);
            }
            self.out.push('\n');
        }
        Ok(())
    }

    fn indent(&mut self, n: usize) {
        self.out.extend(std::iter::repeat_n(' ', n));
    }
}

/// Whether serde-saphyr writes `s` as a plain scalar in a block mapping's value or a
/// sequence item. Deliberately narrower than YAML's rule: printable ASCII letters, digits and
/// `.-_/=@+:` only; no leading `.`, `:`, `+`, `=`, `@` or `_`; a `:` never last; not a word
/// YAML 1.1 reads as a boolean, null or infinity; and a string starting with a digit only if it
/// has no punctuation, no `0x`/`0o`/`0b` prefix and a letter besides `e` (`500m`, `128Mi`, a hex
/// digest), or is a CIDR (digits, two dots or more, a slash), so it cannot read as a number, a
/// date or a time. The empty string is `""`.
pub fn plain_value(s: &str) -> bool {
    plain(s, true)
}

/// The same for a mapping key, where serde-saphyr quotes any `:`.
pub fn plain_key(s: &str) -> bool {
    plain(s, false)
}

/// A value of printable ASCII that starts with a letter (so it cannot read as a number, a date,
/// an indicator or a document marker) and holds none of what ends or breaks a plain scalar in a
/// block: `: `, a final `:`, ` #` (a comment), a final space. A sentence, an expression, an
/// annotation. Not a word YAML 1.1 reads as something else (`yes`, `off`...).
fn prose(s: &str) -> bool {
    let bytes = s.as_bytes();
    bytes.len() <= 1024
        && bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes.iter().all(|b| (0x20..=0x7e).contains(b))
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with([':', ' '])
        && plain_word(s)
}

/// Not one of the words YAML 1.1 reads as a boolean, null or infinity, in any case.
fn plain_word(s: &str) -> bool {
    const WORDS: [&str; 11] = ["null", "true", "false", "yes", "no", "on", "off", "y", "n", "nan", "inf"];
    !WORDS.iter().any(|w| s.eq_ignore_ascii_case(w))
}

/// A single-line value of printable ASCII that serde-saphyr must quote, and does in double
/// quotes escaping only `\` and `"`: it starts with an indicator (`{`, `[`, `"`, `#`, `&`,
/// `*`, `!`, `|`, `>`, `'`, `%`, `@`, `` ` ``, `,`), or holds `: ` or ` #`, or ends with `:`.
fn quoted(s: &str) -> bool {
    let bytes = s.as_bytes();
    let indicator = bytes.first().is_some_and(|b| {
        matches!(
            b,
            b'{' | b'}'
                | b'['
                | b']'
                | b'"'
                | b'#'
                | b'&'
                | b'*'
                | b'!'
                | b'|'
                | b'>'
                | b'\''
                | b'%'
                | b'@'
                | b'`'
                | b','
        )
    });
    (2..=1024).contains(&bytes.len())
        && bytes.iter().all(|b| (0x20..=0x7e).contains(b))
        && !s.starts_with(' ')
        && !s.ends_with(' ')
        && (indicator || s.contains(": ") || s.contains(" #") || s.ends_with(':'))
}

fn plain(s: &str, colon: bool) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    if bytes.len() > 1024 {
        return false;
    }
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'/' | b'=' | b'@' | b'+') || (colon && b == b':')
    };
    if !bytes.iter().all(|&b| allowed(b)) || bytes.last() == Some(&b':') {
        return false;
    }
    match first {
        b'a'..=b'z' | b'A'..=b'Z' => plain_word(s),
        b'/' => true,
        // `-x` (an option) is plain; `-1`, `-inf` and `---` are not.
        b'-' => {
            bytes.get(1).is_some_and(|b| b.is_ascii_alphabetic() || *b == b'-')
                && !s.starts_with("---")
                && !s.eq_ignore_ascii_case("-inf")
        }
        // A CIDR. (YAML 1.1 reads `1.2.3`, an address without its prefix length, as a float.)
        b'0'..=b'9' if bytes.iter().all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'/')) => {
            bytes.iter().filter(|b| **b == b'.').count() >= 2 && bytes.contains(&b'/')
        }
        // Numbers that start with a digit and hold letters: `0x1F`, `0o17`, `0b1`, `1e3`.
        b'0'..=b'9' => {
            bytes.iter().all(u8::is_ascii_alphanumeric)
                && !bytes.get(1).is_some_and(|b| matches!(b.to_ascii_lowercase(), b'x' | b'o' | b'b'))
                && bytes.iter().any(|b| b.is_ascii_alphabetic() && !b.eq_ignore_ascii_case(&b'e'))
        }
        _ => false,
    }
}

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Unsupported;
    type SerializeSeq = Sequence<'a>;
    type SerializeTuple = Impossible<(), Unsupported>;
    type SerializeTupleStruct = Impossible<(), Unsupported>;
    type SerializeTupleVariant = Impossible<(), Unsupported>;
    type SerializeMap = Mapping<'a>;
    type SerializeStruct = Mapping<'a>;
    type SerializeStructVariant = Impossible<(), Unsupported>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.scalar(if v { "true" } else { "false" })
    }
    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(v.into())
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.scalar(&v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_u64(v.into())
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.scalar(&v.to_string())
    }
    fn serialize_f32(self, _: f32) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_f64(self, _: f64) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_char(self, _: char) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        if v.is_empty() {
            return self.scalar("\"\"");
        }
        if v.contains('\n') {
            return self.literal(v);
        }
        // Strings serde-saphyr always quotes, and whose quoted form needs no escape: a number
        // (a CPU quantity of `1`) and a boolean (an environment variable's `true`).
        if (v.len() <= 18 && v.bytes().all(|b| b.is_ascii_digit())) || v == "true" || v == "false" {
            return self.scalar(&format!("\"{v}\""));
        }
        if plain_value(v) || prose(v) {
            return self.scalar(v);
        }
        if quoted(v) {
            let escaped = v.replace('\\', "\\\\").replace('"', "\\\"");
            return self.scalar(&format!("\"{escaped}\""));
        }
        Err(Unsupported)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_none(self) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<()> {
        Err(Unsupported)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Sequence<'a>> {
        match self.at {
            At::Key(indent) => Ok(Sequence { w: self, indent, items: 0 }),
            At::Dash(_) | At::Top => Err(Unsupported),
        }
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(Unsupported)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct> {
        Err(Unsupported)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(Unsupported)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Mapping<'a>> {
        let (indent, opened) = match self.at {
            At::Top => (0, self.at),
            At::Key(indent) | At::Dash(indent) => (indent + 2, self.at),
        };
        Ok(Mapping { w: self, indent, opened, entries: 0 })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Mapping<'a>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(Unsupported)
    }
}

/// A block sequence under a key: items at the key's indentation.
pub struct Sequence<'a> {
    w: &'a mut Writer,
    indent: usize,
    items: usize,
}

impl ser::SerializeSeq for Sequence<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        if self.items == 0 {
            self.w.out.push('\n');
        }
        self.w.indent(self.indent);
        self.w.out.push_str("- ");
        self.items += 1;
        self.w.at = At::Dash(self.indent);
        value.serialize(&mut *self.w)
    }

    fn end(self) -> Result<()> {
        if self.items == 0 {
            self.w.out.push_str(" []\n");
        }
        Ok(())
    }
}

/// A block mapping: entries two in from where it opened (after a key, or on a dash's line).
pub struct Mapping<'a> {
    w: &'a mut Writer,
    indent: usize,
    opened: At,
    entries: usize,
}

impl Mapping<'_> {
    fn key(&mut self, key: &str) -> Result<()> {
        if !plain_key(key) {
            return Err(Unsupported);
        }
        match (self.entries, self.opened) {
            (0, At::Key(_)) => {
                self.w.out.push('\n');
                self.w.indent(self.indent);
            }
            // The first entry of a document, or of a mapping in a sequence, on the line as is.
            (0, At::Top | At::Dash(_)) => {}
            _ => self.w.indent(self.indent),
        }
        self.w.out.push_str(key);
        self.w.out.push(':');
        self.entries += 1;
        self.w.at = At::Key(self.indent);
        Ok(())
    }

    fn finish(self) -> Result<()> {
        match (self.entries, self.opened) {
            (0, At::Key(_)) => {
                self.w.out.push_str(" {}\n");
                Ok(())
            }
            (0, _) => Err(Unsupported),
            _ => Ok(()),
        }
    }
}

impl ser::SerializeMap for Mapping<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        // A mapping key must be a string (a map of labels, a ConfigMap's data).
        match serde_json::to_value(key) {
            Ok(serde_json::Value::String(key)) => self.key(&key),
            _ => Err(Unsupported),
        }
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.w)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Mapping<'_> {
    type Ok = ();
    type Error = Unsupported;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.key(key)?;
        value.serialize(&mut *self.w)
    }

    fn end(self) -> Result<()> {
        self.finish()
    }
}
