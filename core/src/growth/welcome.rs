//! Rendering a welcome message for one add: the placeholders filled in (names cut so that a
//! template that passed validation always fits WeCom's 4000 bytes), the attachments in
//! WeCom's shape, and the remark template.
use super::model::{
    Welcome, CUSTOMER_NAME, CUSTOMER_NAME_CHARS, POINTS_LINK, STAFF_NAME, STAFF_NAME_CHARS,
};
use crate::wecom::api::{limits, Attachment, TextContent, WelcomeMessage, CUSTOMER_REMARK_CHARS};

/// Who is greeted, by whom.
#[derive(Debug, Clone, Default)]
pub struct Greeting<'a> {
    /// The tenant (corp id), for the points link.
    pub corp_id: &'a str,
    /// The customer's name, when known.
    pub customer_name: Option<&'a str>,
    /// The member's name, when known (else their userid).
    pub staff_name: Option<&'a str>,
    /// The member.
    pub userid: &'a str,
}

fn cut(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

/// The points link: the page with the tenant's corp id.
pub fn points_link(page: &str, corp_id: &str) -> String {
    let sep = if page.contains('?') { '&' } else { '?' };
    let corp: String = url::form_urlencoded::byte_serialize(corp_id.as_bytes()).collect();
    format!("{page}{sep}corp_id={corp}")
}

/// Fills the placeholders of `text`.
pub fn fill(text: &str, points_page_url: Option<&str>, g: &Greeting<'_>) -> String {
    let customer = cut(g.customer_name.unwrap_or(""), CUSTOMER_NAME_CHARS);
    let staff = cut(g.staff_name.unwrap_or(g.userid), STAFF_NAME_CHARS);
    let mut out = text
        .replace(CUSTOMER_NAME, &customer)
        .replace(STAFF_NAME, &staff);
    if let Some(page) = points_page_url {
        out = out.replace(POINTS_LINK, &points_link(page, g.corp_id));
    }
    out
}

/// Cuts `s` to at most `bytes` bytes on a character boundary.
fn fit(mut s: String, bytes: usize) -> String {
    if s.len() > bytes {
        let mut end = bytes;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// The `send_welcome_msg` request of `welcome` for `welcome_code`, with its attachments as
/// WeCom takes them and the text of its text materials (joined after its own text; the
/// whole cut to WeCom's 4000 bytes).
pub fn render(
    welcome: &Welcome,
    welcome_code: &str,
    g: &Greeting<'_>,
    mut attachments: Vec<Attachment>,
    extra_text: &str,
) -> WelcomeMessage {
    let mut text = fill(&welcome.text, welcome.points_page_url.as_deref(), g);
    if !extra_text.trim().is_empty() {
        if !text.trim().is_empty() {
            text.push('\n');
        }
        text.push_str(extra_text);
    }
    let text = fit(text, limits::TEMPLATE_TEXT_BYTES);
    attachments.truncate(limits::ATTACHMENTS);
    WelcomeMessage {
        welcome_code: welcome_code.to_string(),
        text: (!text.trim().is_empty()).then_some(TextContent { content: text }),
        attachments,
    }
}

/// The attachments of `welcome` that need nothing resolved, in WeCom's shape (materials
/// left out; links as they are).
pub fn plain_attachments(welcome: &Welcome) -> Vec<Attachment> {
    welcome
        .attachments
        .iter()
        .filter_map(|a| a.to_wecom())
        .collect()
}

/// The remark of `template` for the customer (cut to WeCom's 20 characters).
pub fn remark(template: &str, g: &Greeting<'_>) -> String {
    cut(fill(template, None, g).trim(), CUSTOMER_REMARK_CHARS)
}

/// Whether `text` names the member (their name is then looked up).
pub fn needs_staff_name(text: &str) -> bool {
    text.contains(STAFF_NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::growth::model::{Problem, WelcomeAttachment};

    fn greeting<'a>(name: Option<&'a str>) -> Greeting<'a> {
        Greeting {
            corp_id: "ww1",
            customer_name: name,
            staff_name: Some("张三"),
            userid: "zhangsan",
        }
    }

    fn welcome(text: &str) -> Welcome {
        Welcome {
            text: text.into(),
            attachments: vec![WelcomeAttachment::Link {
                title: "会员中心".into(),
                url: "https://shop.example.com/m".into(),
                desc: None,
                picurl: None,
                track: false,
            }],
            points_page_url: Some("https://shop.example.com/h5/".into()),
        }
    }

    fn problems(w: &Welcome) -> Vec<Problem> {
        let mut out = Vec::new();
        w.problems("welcome", &mut out);
        out
    }

    #[test]
    fn placeholders_are_filled_and_attachments_shaped_for_wecom() {
        let w = welcome("{customer_name}，您好！我是{staff_name}。积分：{points_link}");
        let m = render(
            &w,
            "WC",
            &greeting(Some("Alice")),
            plain_attachments(&w),
            "",
        );
        assert_eq!(m.welcome_code, "WC");
        assert!(m.validate_ok());
        assert!(matches!(&m.attachments[0], Attachment::Link { link } if link.title == "会员中心"));
        assert_eq!(
            m.text.unwrap().content,
            "Alice，您好！我是张三。积分：https://shop.example.com/h5/?corp_id=ww1"
        );
    }

    #[test]
    fn an_unknown_name_renders_empty_and_the_member_falls_back_to_the_userid() {
        let g = Greeting {
            staff_name: None,
            ..greeting(None)
        };
        assert_eq!(
            fill("Hi {customer_name}, {staff_name}", None, &g),
            "Hi , zhangsan"
        );
    }

    #[test]
    fn the_longest_names_still_fit_wecoms_limit() {
        // A template at the limit of its bound renders within 4000 bytes, names cut.
        let mut text = "{customer_name}".repeat(10);
        text.push_str(&"字".repeat((4000 - rendered_len_bound(&text)) / 3));
        let w = Welcome {
            text,
            attachments: vec![],
            points_page_url: None,
        };
        assert!(problems(&w).is_empty(), "{:?}", problems(&w));
        let long = "名".repeat(500);
        let m = render(&w, "WC", &greeting(Some(&long)), plain_attachments(&w), "");
        assert!(m.text.unwrap().content.len() <= 4000);
    }

    fn rendered_len_bound(text: &str) -> usize {
        crate::growth::model::rendered_bound(text, None)
    }

    #[test]
    fn welcomes_over_wecoms_limits_are_refused() {
        let over = welcome(&format!("{}{{customer_name}}", "a".repeat(3900)));
        assert!(problems(&over).iter().any(|p| p.field == "welcome.text"));
        let mut many = welcome("hi");
        many.attachments = vec![many.attachments[0].clone(); 10];
        assert!(problems(&many)
            .iter()
            .any(|p| p.field == "welcome.attachments"));
        let unknown = welcome("hi {nickname}");
        assert!(problems(&unknown)
            .iter()
            .any(|p| p.message.contains("unknown placeholder")));
        let mut no_page = welcome("{points_link}");
        no_page.points_page_url = None;
        assert!(problems(&no_page)
            .iter()
            .any(|p| p.field == "welcome.points_page_url"));
        let empty = Welcome {
            text: " ".into(),
            attachments: vec![],
            points_page_url: None,
        };
        assert!(!problems(&empty).is_empty());
        let bad_link = Welcome {
            text: "x".into(),
            attachments: vec![WelcomeAttachment::Link {
                title: String::new(),
                url: "ftp://x".into(),
                desc: Some("d".repeat(513)),
                picurl: None,
                track: false,
            }],
            points_page_url: None,
        };
        assert_eq!(problems(&bad_link).len(), 3, "{:?}", problems(&bad_link));
    }

    #[test]
    fn remarks_are_cut_to_twenty_characters() {
        let r = remark(
            "展会-{customer_name}",
            &greeting(Some("一个非常非常非常非常长的客户名字啊")),
        );
        assert_eq!(r.chars().count(), 20);
        assert!(r.starts_with("展会-一个"));
    }

    trait ValidateOk {
        fn validate_ok(&self) -> bool;
    }
    impl ValidateOk for WelcomeMessage {
        fn validate_ok(&self) -> bool {
            self.validate().is_ok()
        }
    }
}
