//! Message ids for people: short on a terminal, where a 36-character UUID would squeeze the text out,
//! and any unique prefix of at least [`PREFIX_MIN`] characters accepted back, as `git` and `docker` do.

use std::collections::BTreeSet;

use pieces_os_client::{Client, Error, Transferables};

use super::errors::CommandError;

/// The fewest characters a short id keeps: the first group of a UUID.
pub const SHORT_MIN: usize = 8;

/// The fewest characters of an id that are looked up as a prefix; shorter ones must match exactly.
pub const PREFIX_MIN: usize = 4;

/// The shortest prefixes, of at least [`SHORT_MIN`] characters, that still tell a set of ids apart.
#[derive(Clone, Copy, Debug)]
pub struct ShortIds {
    length: usize,
}

impl ShortIds {
    /// The length that keeps the prefixes of `ids` distinct (an id that is a prefix of another stays
    /// whole, and so distinct).
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> ShortIds {
        let sorted: BTreeSet<&str> = ids.into_iter().collect();
        let mut length = SHORT_MIN;
        let mut previous: Option<&str> = None;
        for id in sorted {
            if let Some(previous) = previous {
                let common = previous
                    .chars()
                    .zip(id.chars())
                    .take_while(|(a, b)| a == b)
                    .count();
                length = length.max(common + 1);
            }
            previous = Some(id);
        }
        ShortIds { length }
    }

    /// Full ids, for the output of programs.
    pub fn full() -> ShortIds {
        ShortIds { length: usize::MAX }
    }

    /// The first characters of `id` that tell it apart.
    pub fn of<'a>(&self, id: &'a str) -> &'a str {
        match id.char_indices().nth(self.length) {
            Some((end, _)) => &id[..end],
            None => id,
        }
    }
}

/// What an id given on the command line names among the ids PiecesOS holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Resolved {
    /// It is one of them, or it is too short to be looked up as a prefix, or nothing starts with it:
    /// use it as given.
    AsGiven,
    /// It starts exactly one of them: this one.
    Unique(String),
    /// It starts several: `count` of them, of which `shown` are the first (at most
    /// [`AMBIGUOUS_SHOWN`]) in sorted order.
    Ambiguous {
        /// How many ids it starts.
        count: usize,
        /// The first of them.
        shown: Vec<String>,
    },
}

/// How many of the ids an ambiguous prefix starts are named in the error.
pub const AMBIGUOUS_SHOWN: usize = 3;

/// What `given` names among `ids`.
pub fn resolve<'a>(given: &str, ids: impl IntoIterator<Item = &'a str>) -> Resolved {
    if given.chars().count() < PREFIX_MIN {
        return Resolved::AsGiven;
    }
    let mut starting = Vec::new();
    for id in ids {
        if id == given {
            return Resolved::AsGiven;
        }
        if id.starts_with(given) {
            starting.push(id.to_owned());
        }
    }
    match starting.len() {
        0 => Resolved::AsGiven,
        1 => Resolved::Unique(starting.remove(0)),
        count => {
            starting.sort();
            starting.truncate(AMBIGUOUS_SHOWN);
            Resolved::Ambiguous {
                count,
                shown: starting,
            }
        }
    }
}

/// Ids given on the command line, looked up as prefixes when PiecesOS does not know them as given. The
/// ids PiecesOS holds are asked for at most once, when the first id needs them.
pub struct Lookup<'a> {
    client: &'a Client,
    known: Option<Vec<String>>,
}

impl<'a> Lookup<'a> {
    /// A lookup that asks `client`.
    pub fn new(client: &'a Client) -> Self {
        Lookup { client, known: None }
    }

    /// Runs `operation` (named `verb` in errors, as in `delete 0b3e6c1e failed: …`) with `given`. When
    /// PiecesOS refuses that with an HTTP status (the 410 of `get` included) and `given` is a unique
    /// prefix of one of its ids (see [`resolve`]), runs it again with that id. Returns the id used and
    /// what the operation returned.
    pub fn run<T>(
        &mut self,
        verb: &str,
        given: &str,
        operation: impl Fn(&str) -> Result<T, Error>,
    ) -> Result<(String, T), CommandError> {
        let failed = || CommandError::during(format!("{verb} {given}"));
        let error = match operation(given) {
            Ok(answer) => return Ok((given.to_owned(), answer)),
            Err(error @ (Error::HttpStatus { .. } | Error::NotFound { .. })) => error,
            Err(other) => return Err(failed()(other)),
        };
        let known = match &self.known {
            Some(known) => known,
            None => match self.client.snapshot_messages(Transferables::Exclude) {
                // What PiecesOS said about the id is the better clue than a failed listing.
                Err(_) => return Err(failed()(error)),
                Ok(snapshot) => self
                    .known
                    .insert(snapshot.iterable.into_iter().map(|message| message.id).collect()),
            },
        };
        match resolve(given, known.iter().map(String::as_str)) {
            Resolved::AsGiven => Err(failed()(error)),
            Resolved::Unique(id) => {
                let answer = operation(&id).map_err(CommandError::during(format!("{verb} {id}")))?;
                Ok((id, answer))
            }
            Resolved::Ambiguous { count, shown } => {
                let more = if count > shown.len() { ", …" } else { "" };
                Err(CommandError::Usage(format!(
                    "{verb} {given}: {count} message ids start with {given} ({}{more}); give more of it",
                    shown.join(", ")
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "0b3e6c1e-1b2c-4d5e-8f90-123456789abc";
    const B: &str = "0b3e6c1e-9999-4d5e-8f90-123456789abc";
    const C: &str = "5d1f0a77-2c4e-4b8a-9e1f-0a1b2c3d4e5f";

    #[test]
    fn short_ids_are_eight_characters_or_as_many_as_tell_them_apart() {
        let short = ShortIds::new([A, C]);
        assert_eq!(short.of(A), "0b3e6c1e");
        assert_eq!(short.of(C), "5d1f0a77");
        let short = ShortIds::new([A, B, C]);
        assert_eq!(short.of(A), "0b3e6c1e-1");
        assert_eq!(short.of(B), "0b3e6c1e-9");
        assert_eq!(ShortIds::new(["m1", "m10"]).of("m10"), "m10");
        assert_eq!(ShortIds::new([A, A]).of(A), "0b3e6c1e");
        assert_eq!(ShortIds::full().of(A), A);
        // Counted in characters, cut on a character boundary.
        assert_eq!(ShortIds::new(["ééééééééé"]).of("ééééééééé"), "éééééééé");
    }

    #[test]
    fn a_unique_prefix_names_its_id() {
        let ids = [A, B, C, "m1"];
        assert_eq!(resolve("5d1f0a77", ids), Resolved::Unique(C.to_owned()));
        assert_eq!(resolve("0b3e6c1e-9", ids), Resolved::Unique(B.to_owned()));
        assert_eq!(
            resolve("0b3e", ids),
            Resolved::Ambiguous {
                count: 2,
                shown: vec![A.to_owned(), B.to_owned()]
            }
        );
        let many = ["abcd1", "abcd4", "abcd3", "abcd2"];
        assert_eq!(
            resolve("abcd", many),
            Resolved::Ambiguous {
                count: 4,
                shown: vec!["abcd1".into(), "abcd2".into(), "abcd3".into()]
            }
        );
        assert_eq!(resolve(C, ids), Resolved::AsGiven, "an exact id");
        assert_eq!(resolve("5d1", ids), Resolved::AsGiven, "too short for a prefix");
        assert_eq!(resolve("ffff", ids), Resolved::AsGiven, "nothing starts with it");
        assert_eq!(resolve("msg-1", ["msg-1", "msg-10"]), Resolved::AsGiven);
    }
}
