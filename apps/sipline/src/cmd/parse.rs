//! `sipline parse [FILE|-]`: shows what the stack sees in a message.

use client_core::message::header::typed::*;
use client_core::message::header::{ListHeader, TypedHeader};
use client_core::message::{
    parse_message, ErrorKind, Header, Message, NameAddr, Params, ParseError, StandardHeader as H, Uri,
};
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `sipline parse`.
#[derive(clap::Args)]
pub struct Args {
    /// The file holding one message; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// Print compact JSON on one line instead of pretty JSON.
    #[arg(long)]
    compact: bool,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    let mut input = Vec::new();
    let read = match args.file.as_deref() {
        None => std::io::stdin().read_to_end(&mut input),
        Some(p) if p.as_os_str() == "-" => std::io::stdin().read_to_end(&mut input),
        Some(p) => std::fs::File::open(p).and_then(|mut f| f.read_to_end(&mut input)),
    };
    if let Err(e) = read {
        eprintln!(
            "sipline parse: cannot read {}: {e}",
            args.file.as_deref().map_or("stdin".into(), |p| p.display().to_string())
        );
        return ExitCode::from(2);
    }
    let (value, code) = match parse_message(input.into()) {
        // A message whose From, To, Call-ID, CSeq or Via cannot be used (or whose CSeq names
        // another method) parses, but no element can act on it (RFC 3261 §8.2: 400): shown,
        // and rejected.
        Ok(msg) => match msg.check_essentials() {
            Ok(()) => (message_json(&msg), 0),
            Err(e) => {
                // The JSON shows the message and, under "essentials", what is wrong.
                eprintln!("sipline parse: rejected: {e}");
                (message_json(&msg), 1)
            }
        },
        Err(e) => {
            eprintln!("sipline parse: rejected: {e}");
            (error_json(&e), 1)
        }
    };
    let text = if args.compact { value.to_string() } else { serde_json::to_string_pretty(&value).unwrap_or_default() };
    println!("{text}");
    ExitCode::from(code)
}

fn error_json(e: &ParseError) -> Value {
    let mut m = Map::new();
    m.insert("error".into(), json!(e.to_string()));
    m.insert("offset".into(), json!(e.offset()));
    if let Some(ctx) = e.context() {
        m.insert("within".into(), json!(ctx));
    }
    match e.kind() {
        ErrorKind::Syntax { expected } => m.insert("expected".into(), json!(expected)),
        ErrorKind::Limit { what, limit } => m.insert("limit".into(), json!({ "what": what, "value": limit })),
        ErrorKind::ContentLength { problem } => m.insert("content_length".into(), json!(problem)),
        ErrorKind::MissingHeader { name } => m.insert("missing".into(), json!(name)),
        _ => None,
    };
    m.insert("status".into(), json!(e.response_status()));
    Value::Object(m)
}

fn message_json(msg: &Message) -> Value {
    let mut m = Map::new();
    match msg {
        Message::Request(r) => {
            m.insert("kind".into(), json!("request"));
            m.insert("method".into(), json!(r.method().as_str()));
            m.insert("uri".into(), r.uri().map_or_else(|e| json!({ "error": e.to_string() }), |u| uri_json(&u)));
            m.insert("version".into(), json!(r.version().to_string()));
        }
        Message::Response(r) => {
            m.insert("kind".into(), json!("response"));
            m.insert("version".into(), json!(r.version().to_string()));
            m.insert("status".into(), json!(r.status().as_u16()));
            m.insert("reason".into(), json!(r.reason().as_str()));
        }
    }
    let headers: Vec<Value> = msg.headers().iter().map(header_json).collect();
    m.insert("headers".into(), Value::Array(headers));
    m.insert("body_length".into(), json!(msg.body().len()));
    m.insert(
        "essentials".into(),
        match msg.check_essentials() {
            Ok(()) => json!("ok"),
            Err(e) => json!(e.to_string()),
        },
    );
    if msg.version() != client_core::message::Version::SIP_2_0 {
        m.insert("note".into(), json!("unsupported SIP version: a UAS answers 505"));
    }
    Value::Object(m)
}

fn header_json(h: &Header) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(h.name().as_str()));
    if h.is_compact() {
        m.insert("compact".into(), json!(true));
    }
    m.insert("value".into(), json!(h.value().as_str()));
    if let Some(std) = h.name().standard() {
        if let Some(typed) = typed_json(std, h.value()) {
            match typed {
                Ok(v) => m.insert("typed".into(), v),
                Err(e) => m.insert("typed_error".into(), json!(e.to_string())),
            };
        }
    }
    Value::Object(m)
}

fn one<'a, T: TypedHeader<'a>>(v: &'a str, f: impl Fn(T) -> Value) -> Result<Value, ParseError> {
    T::parse(v).map(f).map_err(|e| e.within(T::NAME.as_str()))
}

fn list<'a, T: ListHeader<'a>>(v: &'a str, f: impl Fn(T) -> Value) -> Result<Value, ParseError> {
    client_core::message::split_commas(v)
        .map(|(off, item)| T::parse(item).map(&f).map_err(|e| e.shifted(off).within(T::NAME.as_str())))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

fn params_json(p: Params<'_>) -> Value {
    let mut m = Map::new();
    for (k, v) in p.iter() {
        m.insert(k.to_owned(), v.map_or(Value::Bool(true), |v| json!(v)));
    }
    Value::Object(m)
}

fn uri_json(u: &Uri<'_>) -> Value {
    match u {
        Uri::Sip(s) => {
            let mut m = Map::new();
            m.insert("scheme".into(), json!(s.scheme()));
            if let Some(user) = s.user_unescaped() {
                m.insert("user".into(), json!(user));
            }
            if s.password().is_some() {
                m.insert("password".into(), json!("<present, not shown>"));
            }
            m.insert("host".into(), json!(s.host().to_string()));
            if let Some(p) = s.port() {
                m.insert("port".into(), json!(p));
            }
            if !s.params().is_empty() {
                m.insert("params".into(), params_json(s.params()));
            }
            if let Some(h) = s.headers_str() {
                m.insert("headers".into(), json!(h));
            }
            Value::Object(m)
        }
        Uri::Tel(t) => {
            json!({ "scheme": "tel", "number": t.number(), "global": t.is_global(), "params": params_json(t.params()) })
        }
        Uri::Other { scheme, raw } => json!({ "scheme": scheme, "opaque": raw }),
    }
}

fn addr_json(a: &NameAddr<'_>) -> Value {
    let mut m = Map::new();
    if let Some(d) = a.display_name() {
        m.insert("display".into(), json!(d));
    }
    m.insert("uri".into(), uri_json(a.uri()));
    if !a.params().is_empty() {
        m.insert("params".into(), params_json(a.params()));
    }
    Value::Object(m)
}

fn typed_json(h: H, v: &str) -> Option<Result<Value, ParseError>> {
    Some(match h {
        H::Via => list::<Via>(
            v,
            |v| json!({ "transport": v.transport(), "host": v.host().to_string(), "port": v.port(), "params": params_json(v.params()) }),
        ),
        H::From => one::<From>(v, |a| addr_json(&a)),
        H::To => one::<To>(v, |a| addr_json(&a)),
        H::Contact => list::<Contact>(v, |c| match c {
            Contact::Star => json!("*"),
            Contact::Address(a) => addr_json(&a),
        }),
        H::Route => list::<Route>(v, |a| addr_json(&a)),
        H::RecordRoute => list::<RecordRoute>(v, |a| addr_json(&a)),
        H::ReferTo => one::<ReferTo>(v, |a| addr_json(&a)),
        H::ReferredBy => one::<ReferredBy>(v, |a| addr_json(&a)),
        H::PAssertedIdentity => list::<PAssertedIdentity>(v, |a| addr_json(&a)),
        H::CallId => one::<CallId>(v, |c| json!(c.0)),
        H::CSeq => one::<CSeq>(v, |c| json!({ "seq": c.seq, "method": c.method.as_str() })),
        H::MaxForwards => one::<MaxForwards>(v, |n| json!(n.0)),
        H::ContentLength => one::<ContentLength>(v, |n| json!(n.0)),
        H::Expires => one::<Expires>(v, |n| json!(n.0)),
        H::MinExpires => one::<MinExpires>(v, |n| json!(n.0)),
        H::RSeq => one::<RSeq>(v, |n| json!(n.0)),
        H::RAck => one::<RAck>(v, |r| json!({ "rseq": r.rseq, "cseq": r.cseq, "method": r.method.as_str() })),
        H::SessionExpires => one::<SessionExpires>(
            v,
            |s| json!({ "delta": s.delta, "refresher": s.refresher.map(|r| format!("{r:?}").to_lowercase()) }),
        ),
        H::MinSe => one::<MinSe>(v, |s| json!(s.delta)),
        H::RetryAfter => one::<RetryAfter>(v, |r| json!({ "delta": r.delta, "comment": r.comment })),
        H::ContentType => one::<ContentType>(
            v,
            |c| json!({ "type": c.0.kind, "subtype": c.0.subtype, "params": params_json(c.0.params) }),
        ),
        H::Accept => list::<Accept>(v, |c| json!(format!("{}/{}", c.0.kind, c.0.subtype))),
        H::Allow => list::<Allow>(v, |t| json!(t.0)),
        H::Supported => list::<Supported>(v, |t| json!(t.0)),
        H::Require => list::<Require>(v, |t| json!(t.0)),
        H::Unsupported => list::<Unsupported>(v, |t| json!(t.0)),
        H::Event => one::<Event>(v, |e| json!({ "package": e.package, "params": params_json(e.params) })),
        H::SubscriptionState => {
            one::<SubscriptionState>(v, |s| json!({ "state": s.state, "params": params_json(s.params) }))
        }
        H::Replaces => one::<Replaces>(
            v,
            |r| json!({ "call_id": r.call_id, "to_tag": r.to_tag, "from_tag": r.from_tag, "early_only": r.early_only }),
        ),
        H::Reason => list::<Reason>(v, |r| json!({ "protocol": r.protocol, "cause": r.cause(), "text": r.text() })),
        H::Warning => list::<Warning>(v, |w| json!({ "code": w.code, "agent": w.agent, "text": w.text() })),
        H::WwwAuthenticate | H::ProxyAuthenticate => {
            return Some(
                client_core::message::auth::Challenge::parse(v)
                    .map(|c| challenge_json(&c))
                    .map_err(|e| auth_error(h, &e)),
            )
        }
        H::Authorization | H::ProxyAuthorization => {
            return Some(
                client_core::message::auth::Authorization::parse(v)
                    .map(|a| credentials_json(&a))
                    .map_err(|e| auth_error(h, &e)),
            )
        }
        H::UserAgent => one::<UserAgent>(v, |u| json!(u.0)),
        H::Server => one::<Server>(v, |u| json!(u.0)),
        _ => return None,
    })
}

/// An authentication header's error, as a [`ParseError`] so it prints like the others.
fn auth_error(h: H, e: &client_core::message::auth::AuthError) -> ParseError {
    let offset = match e {
        client_core::message::auth::AuthError::Syntax { offset, .. } => *offset,
        _ => 0,
    };
    let expected: &'static str = match e {
        client_core::message::auth::AuthError::Syntax { expected, .. } => expected,
        client_core::message::auth::AuthError::UnsupportedScheme => "the Digest scheme",
        _ => "a well-formed digest header",
    };
    ParseError::syntax(offset, expected).within(h.as_str())
}

fn challenge_json(c: &client_core::message::auth::Challenge) -> Value {
    json!({
        "scheme": "Digest",
        "realm": c.realm,
        "nonce": c.nonce,
        "algorithm": c.algorithm.as_str(),
        "qop": c.qop.iter().map(|q| q.as_str().to_owned()).collect::<Vec<_>>(),
        "opaque": c.opaque,
        "stale": c.stale,
        "userhash": c.userhash,
    })
}

/// The credentials without the response hash: it is a secret-derived value and is not shown.
fn credentials_json(a: &client_core::message::auth::Authorization) -> Value {
    json!({
        "scheme": "Digest",
        "username": a.username,
        "realm": a.realm,
        "nonce": a.nonce,
        "uri": a.uri,
        "algorithm": a.algorithm.as_str(),
        "qop": a.qop.as_ref().map(|q| q.as_str().to_owned()),
        "nc": a.nc.map(|n| format!("{n:08x}")),
        "cnonce": a.cnonce,
        "response": "<present, not shown>",
    })
}
