//! WeCom's flat XML (`<xml><Name>value</Name>…</xml>`): the direct children of `<xml>`, each
//! element's text (CDATA and plain text joined) and, for list elements such as
//! `MemChangeList`, the texts of their `<Item>` children. Deeper nesting other than `<Item>`
//! lists is ignored; the first occurrence of a repeated element wins.
//!
//! Every callback is read twice (the envelope, then the decrypted message), which made XML
//! reading most of a callback's CPU time. So there are two readers with one answer:
//! - a scanner for the shape WeCom sends (tags without attributes, values in CDATA or plain
//!   text without entity references), which borrows every value from the input;
//! - quick-xml for everything else: declarations, comments, entities, attributes,
//!   self-closing tags, deeper nesting, and every malformed input, so that each error is
//!   the general reader's.
//!
//! The scanner gives up (and the general reader runs) at the first thing outside its shape;
//! a property test holds the two to the same result on arbitrary inputs.
use super::events::ParseError;
use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;
use std::borrow::Cow;

/// The direct children of `<xml>`, in document order, first occurrence of a name only.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FlatXml<'a> {
    fields: Vec<Field<'a>>,
}

#[derive(Debug, PartialEq, Eq)]
struct Field<'a> {
    name: Cow<'a, str>,
    text: Cow<'a, str>,
    items: Vec<Cow<'a, str>>,
}

impl<'a> FlatXml<'a> {
    /// Reads `xml`, borrowing from it when it has WeCom's usual shape.
    pub(crate) fn parse(xml: &'a str) -> Result<Self, ParseError> {
        match scan(xml) {
            Some(fields) => Ok(fields),
            None => read_general(xml),
        }
    }

    fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Keeps a closed element unless one of the same name came before.
    fn push(&mut self, name: Cow<'a, str>, text: Cow<'a, str>, items: Vec<Cow<'a, str>>) {
        if self.field(&name).is_none() {
            self.fields.push(Field { name, text, items });
        }
    }

    /// The text of the first element with this name, as sent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.field(name).map(|f| f.text.as_ref())
    }

    /// The text, when present and not empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<&str> {
        self.text(name).filter(|t| !t.is_empty())
    }

    /// The text, when present and not empty, owned.
    pub(crate) fn optional(&self, name: &str) -> Option<String> {
        self.non_empty(name).map(str::to_string)
    }

    /// The text, which must be present and not empty.
    pub(crate) fn required(&self, name: &'static str) -> Result<&str, ParseError> {
        self.non_empty(name).ok_or(ParseError::MissingField(name))
    }

    /// An integer element (surrounding whitespace allowed); absent or empty is `None`.
    pub(crate) fn int(&self, name: &'static str) -> Result<Option<i64>, ParseError> {
        match self.text(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => t.parse().map(Some).map_err(|_| ParseError::BadNumber {
                field: name,
                value: t.chars().take(40).collect(),
            }),
        }
    }

    /// The `<Item>` texts of the first element with this name.
    pub(crate) fn items(&self, name: &str) -> &[Cow<'a, str>] {
        self.field(name)
            .map(|f| f.items.as_slice())
            .unwrap_or_default()
    }
}

/// Joins an element's text pieces (`true`: a CDATA section) as the general reader does:
/// with CDATA, the sections and any plain text that is not only whitespace (pretty-printing
/// around a section is dropped); without, all plain text, trimmed.
fn join<'a>(pieces: &[(bool, &'a str)]) -> Cow<'a, str> {
    if pieces.iter().any(|(cdata, _)| *cdata) {
        let mut kept = pieces
            .iter()
            .filter(|(cdata, t)| *cdata || !t.trim().is_empty())
            .map(|(_, t)| *t);
        match (kept.next(), kept.next()) {
            (None, _) => Cow::Borrowed(""),
            (Some(one), None) => Cow::Borrowed(one),
            (Some(first), Some(second)) => {
                let mut joined = String::from(first);
                joined.push_str(second);
                joined.extend(kept);
                Cow::Owned(joined)
            }
        }
    } else {
        match pieces {
            [] => Cow::Borrowed(""),
            [(_, one)] => Cow::Borrowed(one.trim()),
            many => {
                let joined: String = many.iter().map(|(_, t)| *t).collect();
                Cow::Owned(joined.trim().to_string())
            }
        }
    }
}

const CDATA_OPEN: &str = "<![CDATA[";
const CDATA_CLOSE: &str = "]]>";

/// The position after `at` past spaces, tabs and line breaks.
fn skip_blank(xml: &str, at: usize) -> usize {
    at + xml[at..]
        .bytes()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .count()
}

/// `<Name>` at `at` (a name of ASCII letters, digits and `_`, no attributes): the name and
/// the position after the tag.
fn open_tag(xml: &str, at: usize) -> Option<(&str, usize)> {
    let rest = xml.get(at..)?.strip_prefix('<')?;
    let len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    if len == 0 || rest.as_bytes().get(len) != Some(&b'>') {
        return None;
    }
    Some((&rest[..len], at + len + 2))
}

/// `</name>` exactly at `at`: the position after it.
fn close_tag(xml: &str, at: usize, name: &str) -> Option<usize> {
    let rest = xml[at..].strip_prefix("</")?.strip_prefix(name)?;
    rest.starts_with('>').then_some(at + name.len() + 3)
}

/// The text pieces of an element's content from `at` up to the next tag that is neither a
/// CDATA section nor plain text: pushes them and answers the position of that tag. `None`
/// for plain text with an entity reference (the general reader unescapes those).
fn pieces<'a>(xml: &'a str, mut at: usize, out: &mut Pieces<'a>) -> Option<usize> {
    let bytes = xml.as_bytes();
    loop {
        let lt = at + memchr::memchr(b'<', &bytes[at..])?;
        if lt > at {
            if memchr::memchr(b'&', &bytes[at..lt]).is_some() {
                return None;
            }
            out.push(false, &xml[at..lt])?;
        }
        if !bytes[lt..].starts_with(CDATA_OPEN.as_bytes()) {
            return Some(lt);
        }
        let start = lt + CDATA_OPEN.len();
        let end = cdata_end(bytes, start)?;
        out.push(true, &xml[start..end])?;
        at = end + CDATA_CLOSE.len();
    }
}

/// The text pieces of one element, on the stack: an element of WeCom's has one to three
/// (a CDATA section, perhaps with pretty-printing around it).
struct Pieces<'a> {
    parts: [(bool, &'a str); 8],
    len: usize,
}

impl<'a> Pieces<'a> {
    fn new() -> Self {
        Self {
            parts: [(false, ""); 8],
            len: 0,
        }
    }

    /// `None` when full: more pieces than that is no usual shape.
    fn push(&mut self, cdata: bool, text: &'a str) -> Option<()> {
        *self.parts.get_mut(self.len)? = (cdata, text);
        self.len += 1;
        Some(())
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    fn join(&self) -> Cow<'a, str> {
        join(&self.parts[..self.len])
    }
}

/// Where the first `]]>` from `at` starts (a CDATA section's end: a base64 ciphertext has
/// no `]` at all, so this is one vectorised scan).
fn cdata_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let bracket = at + memchr::memchr(b']', &bytes[at..])?;
        if bytes[bracket..].starts_with(CDATA_CLOSE.as_bytes()) {
            return Some(bracket);
        }
        at = bracket + 1;
    }
}

/// The scanner: `None` when `xml` is not in WeCom's usual shape (the general reader then
/// decides, whether it is fine or malformed).
fn scan(xml: &str) -> Option<FlatXml<'_>> {
    let mut at = skip_blank(xml, 0);
    at += xml[at..].starts_with("<xml>").then_some(5)?;
    let mut out = FlatXml {
        fields: Vec::with_capacity(16),
    };
    let mut text = Pieces::new();
    let mut item = Pieces::new();
    loop {
        at = skip_blank(xml, at);
        if let Some(end) = close_tag(xml, at, "xml") {
            at = end;
            break;
        }
        let (name, after) = open_tag(xml, at)?;
        at = after;
        text.clear();
        let mut items = Vec::new();
        loop {
            at = pieces(xml, at, &mut text)?;
            if let Some(end) = close_tag(xml, at, name) {
                at = end;
                break;
            }
            if !xml[at..].starts_with("<Item>") {
                return None;
            }
            item.clear();
            at = pieces(xml, at + "<Item>".len(), &mut item)?;
            at = close_tag(xml, at, "Item")?;
            items.push(item.join());
        }
        out.push(Cow::Borrowed(name), text.join(), items);
    }
    (skip_blank(xml, at) == xml.len()).then_some(out)
}

/// Text pieces of one element for the general reader: plain text is trimmed when it
/// stands alone, and whitespace around a CDATA section (pretty-printing) is dropped.
#[derive(Default)]
struct TextAcc {
    parts: Vec<(bool, String)>,
}

impl TextAcc {
    fn push(&mut self, cdata: bool, text: String) {
        self.parts.push((cdata, text));
    }

    fn finish(self) -> String {
        if self.parts.iter().any(|(cdata, _)| *cdata) {
            self.parts
                .into_iter()
                .filter(|(cdata, t)| *cdata || !t.trim().is_empty())
                .map(|(_, t)| t)
                .collect()
        } else {
            let joined: String = self.parts.into_iter().map(|(_, t)| t).collect();
            joined.trim().to_string()
        }
    }
}

/// The general reader (quick-xml), for any input.
pub(crate) fn read_general(xml: &str) -> Result<FlatXml<'static>, ParseError> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().expand_empty_elements = true;
    let malformed = |e: &dyn std::fmt::Display| ParseError::Malformed(e.to_string());
    let mut out = FlatXml::default();
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut current: Option<(String, TextAcc, Vec<Cow<'static, str>>)> = None;
    let mut item: Option<TextAcc> = None;
    loop {
        let event = reader.read_event().map_err(|e| malformed(&e))?;
        match event {
            XmlEvent::Start(start) => {
                depth += 1;
                let name = std::str::from_utf8(start.name().as_ref())
                    .map_err(|e| malformed(&e))?
                    .to_string();
                match depth {
                    1 => {
                        if seen_root {
                            return Err(malformed(&"more than one root element"));
                        }
                        if name != "xml" {
                            return Err(ParseError::BadRoot);
                        }
                        seen_root = true;
                    }
                    2 => current = Some((name, TextAcc::default(), Vec::new())),
                    3 if name == "Item" => item = Some(TextAcc::default()),
                    _ => {}
                }
            }
            XmlEvent::End(_) => {
                match depth {
                    0 => return Err(malformed(&"unexpected end tag")),
                    2 => {
                        if let Some((name, text, items)) = current.take() {
                            out.push(Cow::Owned(name), Cow::Owned(text.finish()), items);
                        }
                    }
                    3 => {
                        if let (Some(acc), Some((_, _, items))) = (item.take(), current.as_mut()) {
                            items.push(Cow::Owned(acc.finish()));
                        }
                    }
                    _ => {}
                }
                depth -= 1;
            }
            XmlEvent::Text(text) => {
                let text = text.unescape().map_err(|e| malformed(&e))?.into_owned();
                match depth {
                    0 if !text.trim().is_empty() => {
                        return Err(malformed(&"text outside the root element"))
                    }
                    2 => {
                        if let Some((_, acc, _)) = current.as_mut() {
                            acc.push(false, text);
                        }
                    }
                    3 => {
                        if let Some(acc) = item.as_mut() {
                            acc.push(false, text);
                        }
                    }
                    _ => {}
                }
            }
            XmlEvent::CData(cdata) => {
                let text = std::str::from_utf8(&cdata.into_inner())
                    .map_err(|e| malformed(&e))?
                    .to_string();
                match depth {
                    0 => return Err(malformed(&"CDATA outside the root element")),
                    2 => {
                        if let Some((_, acc, _)) = current.as_mut() {
                            acc.push(true, text);
                        }
                    }
                    3 => {
                        if let Some(acc) = item.as_mut() {
                            acc.push(true, text);
                        }
                    }
                    _ => {}
                }
            }
            XmlEvent::Eof => break,
            XmlEvent::Empty(_)
            | XmlEvent::Comment(_)
            | XmlEvent::Decl(_)
            | XmlEvent::PI(_)
            | XmlEvent::DocType(_) => {}
        }
    }
    if !seen_root {
        return Err(malformed(&"no root element"));
    }
    if depth != 0 {
        return Err(malformed(&"unclosed element at end of input"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// WeCom's shapes: compact, pretty-printed (tabs and CRLF), CDATA or plain, lists.
    const USUAL: &[&str] = &[
        "<xml><ToUserName><![CDATA[ww1]]></ToUserName><Encrypt><![CDATA[abc+/=]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>",
        "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MemChangeList>\n\t\t<Item>Jack</Item>\n\t\t<Item><![CDATA[Rose]]></Item>\n\t</MemChangeList>\n</xml>",
        "\r\n<xml>\r\n<A> spaced </A>\r\n<B>\n<![CDATA[x]]>\n</B><A>second</A><Id></Id><C><![CDATA[a]]>mid<![CDATA[b]]></C></xml>\n",
        "<xml><Empty><![CDATA[]]></Empty><T>a]]>b > c</T><D><![CDATA[<not a tag>&amp;]]></D></xml>",
    ];

    #[test]
    fn the_usual_shapes_are_scanned_and_read_as_the_general_reader_does() {
        for xml in USUAL {
            let scanned = scan(xml).unwrap_or_else(|| panic!("not scanned: {xml}"));
            assert_eq!(Ok(&scanned), read_general(xml).as_ref(), "{xml}");
            assert!(
                scanned
                    .fields
                    .iter()
                    .all(|f| matches!(f.name, Cow::Borrowed(_))),
                "{xml}"
            );
        }
        let list = scan(USUAL[1]).expect("scanned");
        assert_eq!(list.items("MemChangeList"), ["Jack", "Rose"]);
        assert_eq!(list.text("MemChangeList"), Some(""));
        let mixed = scan(USUAL[2]).expect("scanned");
        assert_eq!(mixed.text("A"), Some("spaced"));
        assert_eq!(mixed.text("B"), Some("x"));
        assert_eq!(mixed.text("C"), Some("amidb"));
    }

    #[test]
    fn anything_else_is_left_to_the_general_reader() {
        for xml in [
            "<?xml version=\"1.0\"?><xml><A>1</A></xml>",
            "<xml><!-- c --><A>1</A></xml>",
            "<xml><A>a&amp;b</A></xml>",
            "<xml><A x=\"1\">a</A></xml>",
            "<xml><A/></xml>",
            "<xml><A><B>deep</B></A></xml>",
            "<xml><A>1</B></xml>",
            "<xml><A>1</A>",
            "<xml><A>1</A></xml>trailing",
            "<root><A>1</A></root>",
            "<xml><A>1</A></xml><xml></xml>",
            "\u{feff}<xml><A>1</A></xml>",
            "",
        ] {
            assert_eq!(scan(xml), None, "{xml}");
        }
    }

    /// Pieces that make XML-like text, WeCom's shapes and the ways they go wrong.
    fn xmlish() -> impl Strategy<Value = String> {
        let piece = proptest::sample::select(vec![
            "<xml>",
            "</xml>",
            "<A>",
            "</A>",
            "<B>",
            "</B>",
            "<Item>",
            "</Item>",
            "<![CDATA[",
            "]]>",
            "<![CDATA[v]]>",
            " ",
            "\n",
            "\t",
            "\r\n",
            "x",
            "1",
            " y ",
            "&amp;",
            "&bad;",
            "<",
            ">",
            "/",
            "<A/>",
            "<!-- c -->",
            "<?xml version=\"1.0\"?>",
            "<A k=\"v\">",
            "é",
            "\u{3000}",
            "\u{feff}",
            "</A >",
        ]);
        proptest::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    proptest! {
        #[test]
        fn the_scanner_agrees_with_the_general_reader(xml in xmlish()) {
            if let Some(scanned) = scan(&xml) {
                prop_assert_eq!(Ok(scanned), read_general(&xml));
            }
        }

        #[test]
        fn wrapped_xmlish_agrees(inner in xmlish()) {
            let xml = format!("<xml>{inner}</xml>");
            if let Some(scanned) = scan(&xml) {
                prop_assert_eq!(Ok(scanned), read_general(&xml));
            }
        }

        #[test]
        fn every_parse_agrees_with_the_general_reader(xml in "\\PC{0,120}") {
            if let Some(scanned) = scan(&xml) {
                prop_assert_eq!(Ok(scanned), read_general(&xml));
            }
        }
    }
}
