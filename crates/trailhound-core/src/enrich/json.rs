//! The enrichment written by hand, byte for byte as serde would write it (a test holds the two
//! equal): strings that need no escaping are copied as they are, the rest go through serde_json.
use std::io;

use serde::Serialize;

use super::{Action, AgentInfo, Origin};
use crate::event::Event;

/// Appends the fields of `value`, an object, without its braces.
pub(super) fn write_fields(buf: &mut Vec<u8>, value: &impl Serialize) -> io::Result<()> {
    let start = buf.len();
    serde_json::to_writer(&mut *buf, value)?;
    buf.remove(start);
    buf.pop();
    Ok(())
}

/// Writes [`Action`] as serde would.
pub(super) fn write_action(buf: &mut Vec<u8>, ev: &Event) -> io::Result<()> {
    let service = ev.service();
    if needs_escape(service) || needs_escape(ev.event_name()) {
        return serde_json::to_writer(&mut *buf, &Action(ev)).map_err(io::Error::from);
    }
    buf.push(b'"');
    buf.extend_from_slice(service.as_bytes());
    buf.push(b':');
    buf.extend_from_slice(ev.event_name().as_bytes());
    buf.push(b'"');
    Ok(())
}

/// Writes [`Origin`] as serde would.
pub(super) fn write_origin(buf: &mut Vec<u8>, o: &Origin) -> io::Result<()> {
    buf.extend_from_slice(b"{\"kind\":");
    put_str(buf, o.kind)?;
    for (name, value) in [
        (&b",\"instance_id\":"[..], o.instance_id),
        (b",\"principal\":", o.principal),
        (b",\"role_arn\":", o.role_arn),
        (b",\"invoked_by\":", o.invoked_by),
        (b",\"credential_delivery\":", o.credential_delivery),
    ] {
        if let Some(v) = value {
            buf.extend_from_slice(name);
            put_str(buf, v)?;
        }
    }
    buf.push(b'}');
    Ok(())
}

/// Writes [`AgentInfo`] as serde would.
pub(super) fn write_agent(buf: &mut Vec<u8>, a: &AgentInfo) -> io::Result<()> {
    buf.extend_from_slice(b"{\"family\":");
    put_str(buf, a.family)?;
    if let Some(major) = a.major {
        buf.extend_from_slice(b",\"major\":");
        serde_json::to_writer(&mut *buf, &major)?;
    }
    if let Some(tool) = a.attack_tool {
        buf.extend_from_slice(b",\"attack_tool\":");
        put_str(buf, tool)?;
    }
    buf.push(b'}');
    Ok(())
}

/// A JSON string: copied as it is when nothing in it needs escaping (the usual case: ARNs, ids),
/// else escaped by serde_json.
pub(super) fn put_str(buf: &mut Vec<u8>, s: &str) -> io::Result<()> {
    if needs_escape(s) {
        serde_json::to_writer(&mut *buf, s)?;
    } else {
        buf.reserve(s.len() + 2);
        buf.push(b'"');
        buf.extend_from_slice(s.as_bytes());
        buf.push(b'"');
    }
    Ok(())
}

/// True when serde_json would escape something in `s` (control characters, `"` and `\\`). The
/// check has no early exit, so it can run vectorised.
fn needs_escape(s: &str) -> bool {
    s.bytes().fold(false, |acc, b| {
        acc | (b < 0x20) | (b == b'"') | (b == b'\\')
    })
}
