//! The `source` part of the enrichment: what kind of caller the source address is, its range,
//! provider and trusted-label context (cached per address, bounded), the VPC endpoint's owner and
//! the organisation account CloudTrail shows owning the address.
use std::collections::HashMap;
use std::net::IpAddr;

use compact_str::CompactString;

use super::fields::SourceInfo;
use super::json::write_fields;
use crate::address::{self, AddressBook, IpContext, Source};
use crate::event::Event;
use crate::track::Tracker;

/// Source contexts cached per address (bounded; cleared when full).
const CACHE: usize = 100_000;

pub(super) fn source_info<'a>(
    ev: &'a Event,
    tracker: &'a Tracker,
    book: &AddressBook,
    cache: &'a mut AddressCache,
) -> SourceInfo<'a> {
    source_parts(ev, tracker, book, cache).0
}

/// Source contexts by address (foldhash: probed once per event).
pub(super) type AddressCache = HashMap<IpAddr, Known, foldhash::fast::RandomState>;

/// An address's context, and its fields serialised (without braces) for [`Enricher::write`].
pub(super) struct Known {
    context: IpContext,
    pub(super) json: Box<[u8]>,
}

impl Known {
    fn new(context: IpContext) -> Self {
        let mut json = Vec::new();
        // Serialising a struct of strings, booleans and vectors into memory cannot fail.
        let _ = write_fields(&mut json, &context);
        Known {
            context,
            json: json.into(),
        }
    }
}

/// [`source_info`], with the cached address entry it used.
pub(super) fn source_parts<'a>(
    ev: &'a Event,
    tracker: &'a Tracker,
    book: &AddressBook,
    cache: &'a mut AddressCache,
) -> (SourceInfo<'a>, Option<&'a Known>) {
    let mut known = None;
    let mut info = SourceInfo {
        kind: "other",
        service: None,
        ip: None,
        vpc_endpoint: None,
        org_account: None,
    };
    match address::source(&ev.source_ip) {
        Source::Service(s) => {
            info.kind = "aws_service";
            info.service = Some(s);
        }
        Source::AwsInternal => info.kind = "aws_internal",
        Source::Other(_) => {}
        Source::Ip(ip) => {
            info.kind = "ip";
            if cache.len() >= CACHE && !cache.contains_key(&ip) {
                cache.clear();
            }
            let entry: &Known = cache
                .entry(ip)
                .or_insert_with(|| Known::new(book.context(ip)));
            info.ip = Some(&entry.context);
            known = Some(entry);
            info.org_account = tracker.owner(ip, ev.time).map(|o| o.account.as_str());
        }
    }
    if ev.vpc_endpoint_id.is_some() {
        let mine: Option<&CompactString> = ev.identity.account_id.as_ref();
        info.vpc_endpoint = Some(match ev.vpc_endpoint_account_id.as_ref() {
            None => "own",
            Some(a) if Some(a) == mine => "own",
            Some(a) if tracker.is_member(a) => "member",
            Some(_) => "foreign",
        });
    }
    (info, known)
}
