//! The one place where the JSON-text check uses SIMD: finding where the plain run of a JSON string ends.
//!
//! Message text is most of a body, so the check spends most of its time looking for the next byte of a
//! string that is not plain text: a quote, a backslash or a control character. On x86_64 that search
//! looks at 32 bytes per step with AVX2 where the CPU has it (detected once per body, [`Strings::detect`])
//! and 16 bytes with SSE2 otherwise (part of every x86_64 CPU); elsewhere, and for the last bytes of a
//! body, a portable search does the same 8 bytes at a time (SWAR: bit tricks on a `u64`). All give the
//! same answer (`tests`).
//!
//! Message text is also rich in escapes (the stand-in's realistic messages hold one every 45 bytes or so:
//! line feeds, quotes, tabs), and returning to the caller at each of them cost more than the search
//! itself. So [`Strings::skip_plain`] steps over the escapes of one character (`\n`, `\"`, …) inside the
//! block it has already loaded, and stops only where the caller has something to decide: a quote, a
//! control character, or a backslash not followed by one of those (`\u`, an invalid escape, the end).

/// The string search this CPU runs, chosen once per body.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strings {
    /// Whether the CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    avx2: bool,
}

impl Strings {
    /// The fastest search this CPU has.
    pub(crate) fn detect() -> Self {
        Strings {
            #[cfg(target_arch = "x86_64")]
            avx2: std::arch::is_x86_feature_detected!("avx2"),
        }
    }

    /// The offset of the first byte at or after `from` that is a `"`, a `\` or a control character
    /// (`0x00..=0x1F`); `bytes.len()` when there is none.
    #[inline]
    pub(crate) fn string_stop(self, bytes: &[u8], from: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            sse2::string_stop(bytes, from)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            portable_string_stop(bytes, from)
        }
    }

    /// Where a short plain string ends: the offset of its closing `"` when that is the first stop byte
    /// (see [`Self::string_stop`]) within the 32 bytes from `from`; `None` otherwise (a longer string,
    /// an escape, a control character, the end of the text), which [`Self::skip_plain`] then reads.
    ///
    /// Most strings of a body are keys, ids and names of a few dozen bytes: this reads them without
    /// leaving the caller, with SSE2 on x86_64.
    #[inline]
    pub(crate) fn short_plain(self, bytes: &[u8], from: usize) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        {
            sse2::short_plain(bytes, from)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let stop = portable_string_stop(bytes, from);
            (stop < from + 32 && bytes.get(stop) == Some(&b'"')).then_some(stop)
        }
    }

    /// Copies the bytes from `from` up to the first stop byte (see [`Self::string_stop`]) onto `out`, and
    /// returns the stop's offset (`bytes.len()` when there is none): the plain run of a string being
    /// built, copied 16 bytes at a time as it is searched, rather than found first and copied after.
    #[inline]
    pub(crate) fn copy_plain(self, bytes: &[u8], from: usize, out: &mut Vec<u8>) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            sse2::copy_plain(bytes, from, out)
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            portable_copy_plain(bytes, from, out)
        }
    }

    /// The offset of the first byte at or after `from` that is a `"`, a control character, or a `\`
    /// that does not begin an escape of one character (`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`);
    /// those escapes are stepped over whole, so the `"` or `\` of `\"` or `\\` is never a stop.
    /// `bytes.len()` when there is no stop.
    #[inline]
    pub(crate) fn skip_plain(self, bytes: &[u8], from: usize) -> usize {
        #[cfg(target_arch = "x86_64")]
        {
            if self.avx2 {
                avx2::skip_plain(bytes, from)
            } else {
                sse2::skip_plain(bytes, from)
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            portable_skip_plain(bytes, from)
        }
    }
}

/// Whether `byte` ends the plain run of a JSON string.
#[inline]
fn is_stop(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// Whether `byte`, after a backslash, makes an escape of one character.
#[inline]
fn is_short_escape(byte: u8) -> bool {
    // A table: one load, where a `match` compiled to a jump table.
    static SHORT: [bool; 256] = {
        let mut table = [false; 256];
        let escapes = *b"\"\\/bfnrt";
        let mut i = 0;
        while i < escapes.len() {
            table[escapes[i] as usize] = true;
            i += 1;
        }
        table
    };
    SHORT[usize::from(byte)]
}

/// Whether the stop at `at` (a byte [`is_stop`] holds for) is the backslash of a short escape, which
/// [`Strings::skip_plain`] steps over.
#[inline]
fn is_short_escape_at(bytes: &[u8], at: usize) -> bool {
    bytes[at] == b'\\' && bytes.get(at + 1).is_some_and(|&next| is_short_escape(next))
}

/// [`Strings::string_stop`] without SIMD instructions.
#[inline]
fn portable_string_stop(bytes: &[u8], mut from: usize) -> usize {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES << 7;
    while let Some(chunk) = bytes.get(from..from + 8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        // The high bit of a byte of `found` is set where that byte is below 0x20, or equal to a quote or a
        // backslash (`x - 1` borrows only where `x` was 0). Borrows can mark bytes after the first match,
        // never before it, so the lowest marked byte is exact.
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        let found = (word.wrapping_sub(ONES * 0x20) & !word)
            | (quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash);
        let found = found & HIGH;
        if found != 0 {
            return from + found.trailing_zeros() as usize / 8;
        }
        from += 8;
    }
    while from < bytes.len() && !is_stop(bytes[from]) {
        from += 1;
    }
    from
}

/// [`Strings::copy_plain`] without SIMD instructions.
#[inline]
fn portable_copy_plain(bytes: &[u8], from: usize, out: &mut Vec<u8>) -> usize {
    let stop = portable_string_stop(bytes, from);
    out.extend_from_slice(&bytes[from..stop]);
    stop
}

/// [`Strings::skip_plain`] without SIMD instructions.
#[inline]
fn portable_skip_plain(bytes: &[u8], mut from: usize) -> usize {
    loop {
        from = portable_string_stop(bytes, from);
        if from < bytes.len() && is_short_escape_at(bytes, from) {
            from += 2;
        } else {
            return from;
        }
    }
}

/// The loop of [`Strings::skip_plain`] over blocks of `BLOCK` bytes, given the mask of the stop bytes
/// of the block at an offset (`stops`, one bit per byte, the first byte lowest); the last bytes, fewer
/// than a block, go to `tail`.
#[inline(always)]
fn skip_plain_by_blocks<const BLOCK: usize>(
    bytes: &[u8],
    mut from: usize,
    stops: impl Fn(&[u8], usize) -> u32,
    tail: impl FnOnce(&[u8], usize) -> usize,
) -> usize {
    'blocks: while from + BLOCK <= bytes.len() {
        let mut mask = stops(bytes, from);
        while mask != 0 {
            let at = from + mask.trailing_zeros() as usize;
            if !is_short_escape_at(bytes, at) {
                return at;
            }
            // Past the escape's second byte, which is in this block (then its bit, if it is a `"` or a
            // `\`, is cleared with the backslash's) or the first of the next.
            let next = at + 2 - from;
            if next >= BLOCK {
                from = at + 2;
                continue 'blocks;
            }
            mask &= u32::MAX << next;
        }
        from += BLOCK;
    }
    tail(bytes, from)
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // SSE2 intrinsics, on 16 bytes known to be in bounds.
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8, _mm_storeu_si128,
    };

    /// One bit per byte of the 16 at `from` that [`super::is_stop`] holds for.
    #[inline]
    fn stops(bytes: &[u8], from: usize) -> u32 {
        let block = &bytes[from..from + 16];
        // SAFETY: SSE2 is part of the x86_64 baseline, so these instructions exist on every CPU this code
        // runs on; the load reads the 16 bytes of `block` (the slicing above checked the bounds, which the
        // compiler can drop where the caller's loop checked them), and `loadu` needs no alignment.
        unsafe {
            let chunk = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
            let quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'"' as i8));
            let backslash = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'\\' as i8));
            // Unsigned `chunk <= 0x1F`: the byte-wise maximum with 0x1F is 0x1F only there.
            let limit = _mm_set1_epi8(0x1F);
            let control = _mm_cmpeq_epi8(_mm_max_epu8(chunk, limit), limit);
            _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
        }
    }

    #[inline]
    pub(super) fn string_stop(bytes: &[u8], mut from: usize) -> usize {
        while from + 16 <= bytes.len() {
            let mask = stops(bytes, from);
            if mask != 0 {
                return from + mask.trailing_zeros() as usize;
            }
            from += 16;
        }
        super::portable_string_stop(bytes, from)
    }

    #[inline]
    pub(super) fn skip_plain(bytes: &[u8], from: usize) -> usize {
        super::skip_plain_by_blocks::<16>(bytes, from, stops, super::portable_skip_plain)
    }

    /// Stores each block of 16 bytes whole at the end of `out` as it searches it (one store instead of a
    /// call to `memcpy` per run), then counts only the bytes before the stop as written.
    #[inline]
    pub(super) fn copy_plain(bytes: &[u8], mut from: usize, out: &mut Vec<u8>) -> usize {
        while let Some(block) = bytes.get(from..from + 16) {
            out.reserve(16);
            let written = out.len();
            // SAFETY: SSE2 is part of the x86_64 baseline. The load reads the 16 bytes of `block`; the
            // store writes 16 bytes of the spare capacity that `reserve(16)` guarantees after `written`;
            // `loadu`/`storeu` need no alignment. `set_len` then counts only bytes that were written.
            let mask = unsafe {
                let chunk = _mm_loadu_si128(block.as_ptr().cast::<__m128i>());
                _mm_storeu_si128(out.as_mut_ptr().add(written).cast::<__m128i>(), chunk);
                let quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'\\' as i8));
                let limit = _mm_set1_epi8(0x1F);
                let control = _mm_cmpeq_epi8(_mm_max_epu8(chunk, limit), limit);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
            };
            let plain = if mask == 0 {
                16
            } else {
                mask.trailing_zeros() as usize
            };
            // SAFETY: the `plain` (at most 16) bytes after `written` were initialized by the store.
            unsafe { out.set_len(written + plain) };
            if mask != 0 {
                return from + plain;
            }
            from += 16;
        }
        super::portable_copy_plain(bytes, from, out)
    }

    #[inline]
    pub(super) fn short_plain(bytes: &[u8], from: usize) -> Option<usize> {
        for block in [from, from + 16] {
            if block + 16 > bytes.len() {
                return None;
            }
            let mask = stops(bytes, block);
            if mask != 0 {
                let at = block + mask.trailing_zeros() as usize;
                return (bytes[at] == b'"').then_some(at);
            }
        }
        None
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // AVX2 intrinsics, on 32 bytes known to be in bounds, where the CPU has AVX2.
mod avx2 {
    use core::arch::x86_64::{
        __m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_max_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8,
    };

    /// [`super::Strings::skip_plain`] 32 bytes at a time. Called only when the CPU has AVX2
    /// ([`super::Strings::detect`]).
    pub(super) fn skip_plain(bytes: &[u8], from: usize) -> usize {
        // SAFETY: `Strings` calls this only after `is_x86_feature_detected!("avx2")` said yes.
        unsafe { skip_plain_avx2(bytes, from) }
    }

    #[target_feature(enable = "avx2")]
    unsafe fn skip_plain_avx2(bytes: &[u8], from: usize) -> usize {
        // SAFETY: this function runs only where the CPU has AVX2, and the closure with it.
        let stops = |bytes: &[u8], from: usize| unsafe { stops(bytes, from) };
        super::skip_plain_by_blocks::<32>(bytes, from, stops, tail)
    }

    /// The last bytes of a body, fewer than 32; out of line, so that the loop above keeps its registers.
    #[inline(never)]
    fn tail(bytes: &[u8], from: usize) -> usize {
        super::sse2::skip_plain(bytes, from)
    }

    /// One bit per byte of the 32 at `from` that [`super::is_stop`] holds for.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn stops(bytes: &[u8], from: usize) -> u32 {
        let block = &bytes[from..from + 32];
        // SAFETY: the caller runs only where the CPU has AVX2; the load reads the 32 bytes of `block`
        // (bounds checked by the slicing), and `loadu` needs no alignment.
        unsafe {
            let chunk = _mm256_loadu_si256(block.as_ptr().cast::<__m256i>());
            let quote = _mm256_cmpeq_epi8(chunk, _mm256_set1_epi8(b'"' as i8));
            let backslash = _mm256_cmpeq_epi8(chunk, _mm256_set1_epi8(b'\\' as i8));
            // Unsigned `chunk <= 0x1F`: the byte-wise maximum with 0x1F is 0x1F only there.
            let limit = _mm256_set1_epi8(0x1F);
            let control = _mm256_cmpeq_epi8(_mm256_max_epu8(chunk, limit), limit);
            _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(quote, backslash), control)) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A search: from a text and an offset to the offset of the stop.
    type Search = fn(&[u8], usize) -> usize;

    /// Every search this machine can run, by name.
    fn skip_plain_searches() -> Vec<(&'static str, Search)> {
        let mut searches: Vec<(&str, Search)> = vec![("portable", portable_skip_plain)];
        #[cfg(target_arch = "x86_64")]
        {
            searches.push(("sse2", sse2::skip_plain));
            if std::arch::is_x86_feature_detected!("avx2") {
                searches.push(("avx2", avx2::skip_plain));
            }
        }
        searches
    }

    fn naive(bytes: &[u8], from: usize) -> usize {
        (from..bytes.len())
            .find(|&i| is_stop(bytes[i]))
            .unwrap_or(bytes.len())
    }

    fn naive_skip_plain(bytes: &[u8], mut from: usize) -> usize {
        while from < bytes.len() {
            match bytes[from] {
                b'\\' if bytes.get(from + 1).is_some_and(|&next| is_short_escape(next)) => from += 2,
                byte if is_stop(byte) => return from,
                _ => from += 1,
            }
        }
        from
    }

    #[test]
    fn skip_plain_steps_over_short_escapes_only() {
        // Every sequence of three of these pieces (and of five, with plain text in the middle), after
        // padding of four lengths, from every offset: escapes of every kind next to each other, across
        // 16- and 32-byte blocks and at the end of the text.
        let pieces: [&[u8]; 12] = [
            b"\\\\",
            b"\\\"",
            b"\\n",
            b"\\u00e9",
            b"\\x",
            b"\\",
            b"\"",
            b"\x01",
            b"plain text, long enough to cross a block",
            b"ab",
            "\u{e9}".as_bytes(),
            b"\\/\\b\\f\\r\\t",
        ];
        let searches = skip_plain_searches();
        let mut checked = 0;
        let mut text = Vec::new();
        let mut build = |order: &[usize]| {
            for pad in [0, 7, 15, 30] {
                text.clear();
                text.resize(pad, b'a');
                for &piece in order {
                    text.extend_from_slice(pieces[piece]);
                }
                for from in 0..=text.len() {
                    let stop = naive(&text, from);
                    let mut copied = vec![b'x'; pad];
                    let found = Strings::detect().copy_plain(&text, from, &mut copied);
                    assert_eq!(found, stop, "copy_plain on {text:?} from {from}");
                    assert_eq!(
                        &copied[pad..],
                        &text[from..stop],
                        "copy_plain on {text:?} from {from}"
                    );
                    assert_eq!(portable_copy_plain(&text, from, &mut Vec::new()), stop);
                    let expected = naive_skip_plain(&text, from);
                    for (name, search) in &searches {
                        let found = search(&text, from);
                        assert_eq!(found, expected, "{name} on {text:?} from {from}");
                    }
                    checked += 1;
                }
            }
        };
        let n = pieces.len();
        for a in 0..n {
            for b in 0..n {
                for c in 0..n {
                    build(&[a, b, c]);
                    build(&[a, 8, b, c, a]);
                }
            }
        }
        assert!(checked > 100_000);
        // The short path: a string's end when it is plain and within 32 bytes, and nothing else.
        for (text, end) in [
            (
                &br#"ab"                                                  "#[..],
                Some(2),
            ),
            (
                br#"abcdefghijklmnopqrstuvwxyz01234"                      "#,
                Some(31),
            ),
            (br#"abcdefghijklmnopqrstuvwxyz012345"                     "#, None),
            (
                br#"ab
"                                                 "#,
                None,
            ),
            (br#"ab"#, None),
        ] {
            assert_eq!(Strings::detect().short_plain(text, 0), end, "{text:?}");
        }
        // Stops at the `\u`.
        assert_eq!(
            Strings::detect().skip_plain(br#"ab\n\"\\ \u00e9""#, 0),
            9,
            "the detected search"
        );
    }

    #[test]
    fn every_search_finds_the_first_stop_byte() {
        // Each stop byte and a few that are not, at every position of bodies of every length up to 40.
        let specials = [
            b'"', b'\\', 0x00, 0x01, 0x1f, b' ', b'!', 0x7f, 0x80, 0xe9, 0xff, b'#', b']',
        ];
        for len in 0..40 {
            for at in 0..len {
                for &special in &specials {
                    let mut bytes = vec![b'a'; len];
                    bytes[at] = special;
                    if at + 3 < len {
                        bytes[at + 3] = b'"';
                    }
                    for from in 0..=len {
                        let expected = naive(&bytes, from);
                        assert_eq!(
                            portable_string_stop(&bytes, from),
                            expected,
                            "{bytes:?} from {from}"
                        );
                        let found = Strings::detect().string_stop(&bytes, from);
                        assert_eq!(found, expected, "{bytes:?} from {from}");
                    }
                }
            }
        }
    }
}
