//! The one place where the JSON-text check uses SIMD: finding where the plain run of a JSON string ends.
//!
//! Message text is most of a body, so the check spends most of its time looking for the next byte of a
//! string that is not plain text: a quote, a backslash or a control character. On x86_64 that search
//! looks at 16 bytes per step with SSE2 (part of every x86_64 CPU, so there is nothing to detect at run
//! time); elsewhere, and for the last bytes of a body, a portable search does the same 8 bytes at a time
//! (SWAR: bit tricks on a `u64`). Both give the same answer (`tests`).

/// The offset of the first byte at or after `from` that is a `"`, a `\` or a control character
/// (`0x00..=0x1F`); `bytes.len()` when there is none.
#[inline]
pub(crate) fn string_stop(bytes: &[u8], from: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        sse2::string_stop(bytes, from)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        portable_string_stop(bytes, from)
    }
}

/// Whether `byte` ends the plain run of a JSON string.
#[inline]
fn is_stop(byte: u8) -> bool {
    byte == b'"' || byte == b'\\' || byte < 0x20
}

/// [`string_stop`] without SIMD instructions.
#[inline]
pub(crate) fn portable_string_stop(bytes: &[u8], mut from: usize) -> usize {
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

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)] // SSE2 intrinsics, on 16 bytes known to be in bounds.
mod sse2 {
    use core::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_max_epu8, _mm_movemask_epi8, _mm_or_si128,
        _mm_set1_epi8,
    };

    #[inline]
    pub(super) fn string_stop(bytes: &[u8], mut from: usize) -> usize {
        while from + 16 <= bytes.len() {
            // SAFETY: SSE2 is part of the x86_64 baseline, so these instructions exist on every CPU this
            // code runs on; the load reads the 16 bytes at `from`, in bounds as the loop condition says,
            // and `loadu` has no alignment requirement.
            let mask = unsafe {
                let chunk = _mm_loadu_si128(bytes.as_ptr().add(from).cast::<__m128i>());
                let quote = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'"' as i8));
                let backslash = _mm_cmpeq_epi8(chunk, _mm_set1_epi8(b'\\' as i8));
                // Unsigned `chunk <= 0x1F`: the byte-wise maximum with 0x1F is 0x1F only there.
                let limit = _mm_set1_epi8(0x1F);
                let control = _mm_cmpeq_epi8(_mm_max_epu8(chunk, limit), limit);
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, backslash), control)) as u32
            };
            if mask != 0 {
                return from + mask.trailing_zeros() as usize;
            }
            from += 16;
        }
        super::portable_string_stop(bytes, from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(bytes: &[u8], from: usize) -> usize {
        (from..bytes.len())
            .find(|&i| is_stop(bytes[i]))
            .unwrap_or(bytes.len())
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
                        assert_eq!(string_stop(&bytes, from), expected, "{bytes:?} from {from}");
                    }
                }
            }
        }
    }
}
