//! The fast path for the one big answer: a successful `matrix` result (a `query_range` of many series).
//!
//! Why a second path: serde_json's visitor machinery costs ~45 ns per `[ts, "value"]` pair on top of the float
//! parse (the whole typed decode ran at ~390 MB/s of JSON; sonic-rs without `-C target-cpu=native` was no
//! faster, and a plugin shipped as a generic x86-64 binary cannot assume AVX2). Here the JSON *structure*
//! (envelope, `data`, the series objects, their keys) is walked by hand, every non-trivial JSON value in it —
//! keys with escapes, `metric` label sets, `warnings`, `infos`, `stats`, `histograms`, unknown keys — is
//! decoded by serde_json on the sub-slice (its `StreamDeserializer` says where the value ended), and only the
//! `values` arrays, which are >99 % of the bytes, are scanned by a tight loop straight into the pre-sized
//! columns.
//!
//! The loop accepts only the plain form Prometheus writes: `[<seconds>[.<up to 3 digits>],"<value>"]` with
//! optional whitespace, a value string without escapes. Anything else — an exponent or sign in a timestamp,
//! more than millisecond precision (the serde path rounds those through f64), a value sent as a number, an
//! escape, a third element, invalid JSON — makes that `values` array be decoded again by the serde visitor
//! from its start, so results and error messages are exactly those of the serde path. Anything unusual in the
//! structure (another status, another result type, `result` before `resultType`, a duplicate key) makes the
//! whole body go to the serde path (`None`). Timestamps are converted to milliseconds exactly as the serde path
//! does: for ≤ 3 fraction digits and < 10¹² s, `round(f64(s) * 1000)` equals the integer computation.

use std::borrow::Cow;

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::{
    parse_sample_value, stats_from_value, to_ms, ColumnsSeed, HistogramDe, QueryDataWithStats,
};
use crate::types::{Labels, QueryData, Response, Series, Stats};

/// Decodes a successful matrix answer, or `None` if the body is anything else (the caller then uses the serde
/// path, which also produces the precise error for invalid bodies).
pub(crate) fn decode(body: &[u8]) -> Option<Response<QueryDataWithStats>> {
    // One UTF-8 check of the whole body (~0.2 ms for 7 MB of ASCII) lets the value strings be sliced as `&str`
    // without a check each; serde_json would reject invalid UTF-8 in strings anyway, elsewhere it falls back.
    let text = std::str::from_utf8(body).ok()?;
    let mut w = Walk {
        text,
        b: body,
        i: 0,
    };
    let mut status_ok = false;
    let mut data: Option<(Vec<Series>, Option<Stats>)> = None;
    let mut warnings: Option<Option<Vec<String>>> = None;
    let mut infos: Option<Option<Vec<String>>> = None;
    let mut is_partial: Option<Option<bool>> = None;
    let mut seen_error = false;
    w.object(|w, key| {
        match key {
            "status" if !status_ok => {
                // Only success takes this path; errors are small and go to the serde path.
                (w.string()? == "success").then_some(())?;
                status_ok = true;
            }
            "data" if data.is_none() => data = Some(query_data(w)?),
            "warnings" if warnings.is_none() => warnings = Some(w.value()?),
            "infos" if infos.is_none() => infos = Some(w.value()?),
            "isPartial" if is_partial.is_none() => is_partial = Some(w.value()?),
            "errorType" | "error" if !seen_error => {
                seen_error = true;
                w.value::<Option<String>>()?;
            }
            "status" | "data" | "warnings" | "infos" | "isPartial" | "errorType" | "error" => {
                return None
            }
            _ => {
                w.value::<IgnoredAny>()?;
            }
        }
        Some(())
    })?;
    w.ws();
    if w.i != body.len() || !status_ok {
        return None;
    }
    let (series, stats) = data?;
    Some(Response {
        data: QueryDataWithStats {
            data: QueryData::Matrix(series),
            stats: None,
        },
        warnings: warnings.flatten().unwrap_or_default(),
        infos: infos.flatten().unwrap_or_default(),
        is_partial: is_partial.flatten(),
        stats,
    })
}

fn query_data(w: &mut Walk<'_>) -> Option<(Vec<Series>, Option<Stats>)> {
    let mut matrix_type = false;
    let mut result: Option<Vec<Series>> = None;
    let mut stats: Option<Stats> = None;
    w.object(|w, key| {
        match key {
            "resultType" if !matrix_type => {
                (w.string()? == "matrix").then_some(())?;
                matrix_type = true;
            }
            // `result` before `resultType` (another server's order): the serde path buffers it.
            "result" if matrix_type && result.is_none() => result = Some(matrix(w)?),
            "stats" if stats.is_none() => {
                stats = Some(stats_from_value(w.value::<serde_json::Value>()?).ok()?)
            }
            "resultType" | "result" | "stats" => return None,
            _ => {
                w.value::<IgnoredAny>()?;
            }
        }
        Some(())
    })?;
    Some((result?, stats))
}

/// Answers at least this large are decoded by two threads (when the machine has two cores or more).
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// The bytes between two series as Prometheus writes them: end of `values`, end of the series, start of the next.
const SERIES_BOUNDARY: &[u8] = b"]]},{\"metric\":";

fn matrix(w: &mut Walk<'_>) -> Option<Vec<Series>> {
    if w.peek()? != b'[' {
        return None;
    }
    if w.b.len() - w.i >= PARALLEL_MIN_BYTES
        && std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
    {
        if let Some(series) = matrix_in_two(w) {
            return Some(series);
        }
    }
    let mut out = Vec::new();
    let mut capacity_hint = 0;
    w.array(|w| {
        let s = series(w, capacity_hint)?;
        capacity_hint = s.values.len();
        out.push(s);
        Some(())
    })?;
    Some(out)
}

/// Decodes the result array in two halves at once: the second half starts at the first series boundary after
/// the middle of the remaining body. Why this is exact: in valid JSON the `"` of `{"metric":` cannot be inside
/// a string (it would be escaped) nor close one (a key would follow), so the match is a structural object
/// start; the first half must end exactly there after whole series, the second must be whole series up to the
/// array's `]`, and `[S, …, S` + `,` + `S, …, S]` is the array's own grammar. If either half does not decode
/// (no boundary, a boundary outside the array, anything unusual), `None`: the caller decodes sequentially from
/// the unchanged position.
fn matrix_in_two(w: &mut Walk<'_>) -> Option<Vec<Series>> {
    let open = w.i;
    let mid = open + (w.b.len() - open) / 2;
    let boundary = mid
        + w.b[mid..]
            .windows(SERIES_BOUNDARY.len())
            .position(|x| x == SERIES_BOUNDARY)?;
    let comma = boundary + 3;
    let (text, b) = (w.text, w.b);
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(move || {
            let mut w = Walk {
                text,
                b,
                i: open + 1,
            };
            let mut out = Vec::new();
            let mut capacity_hint = 0;
            loop {
                let s = series(&mut w, capacity_hint)?;
                capacity_hint = s.values.len();
                out.push(s);
                w.ws();
                match w.i.cmp(&comma) {
                    std::cmp::Ordering::Equal => return Some(out),
                    std::cmp::Ordering::Greater => return None,
                    std::cmp::Ordering::Less => w.eat(b',')?,
                }
            }
        });
        let mut w2 = Walk {
            text,
            b,
            i: comma + 1,
        };
        let mut out = Vec::new();
        let mut capacity_hint = 0;
        let second = loop {
            let Some(s) = series(&mut w2, capacity_hint) else {
                break None;
            };
            capacity_hint = s.values.len();
            out.push(s);
            match w2.peek() {
                Some(b',') => w2.i += 1,
                Some(b']') => break Some((out, w2.i + 1)),
                _ => break None,
            }
        };
        (first.join().ok().flatten(), second)
    });
    let mut series = first?;
    let (rest, end) = second?;
    series.extend(rest);
    w.i = end;
    Some(series)
}

fn series(w: &mut Walk<'_>, capacity_hint: usize) -> Option<Series> {
    let mut s = Series {
        labels: Labels::default(),
        timestamps_ms: Vec::new(),
        values: Vec::new(),
        histograms: Vec::new(),
    };
    let (mut metric, mut values, mut histograms) = (false, false, false);
    w.object(|w, key| {
        match key {
            "metric" if !metric => {
                metric = true;
                s.labels = w.value()?;
            }
            "values" if !values => {
                values = true;
                w.ws();
                let start = w.i;
                s.timestamps_ms.reserve(capacity_hint);
                s.values.reserve(capacity_hint);
                match scan_values(w.text, start, &mut s.timestamps_ms, &mut s.values) {
                    Some(end) => w.i = end,
                    None => {
                        s.timestamps_ms.clear();
                        s.values.clear();
                        w.i = start;
                        let cols: SerdeColumns = w.value()?;
                        s.timestamps_ms = cols.0;
                        s.values = cols.1;
                    }
                }
            }
            "histograms" if !histograms => {
                histograms = true;
                let points: Vec<(f64, HistogramDe)> = w.value()?;
                s.histograms = points.into_iter().map(|(t, h)| (to_ms(t), h.0)).collect();
            }
            "metric" | "values" | "histograms" => return None,
            _ => {
                w.value::<IgnoredAny>()?;
            }
        }
        Some(())
    })?;
    Some(s)
}

/// A `values` array decoded by the serde visitor (the slow, general path for one array).
struct SerdeColumns(Vec<i64>, Vec<f64>);

impl<'de> Deserialize<'de> for SerdeColumns {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::DeserializeSeed;
        let (mut ts, mut values) = (Vec::new(), Vec::new());
        ColumnsSeed {
            ts: &mut ts,
            values: &mut values,
        }
        .deserialize(d)?;
        Ok(SerdeColumns(ts, values))
    }
}

#[inline]
fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while let Some(&c) = b.get(i) {
        if matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
            i += 1;
        } else {
            break;
        }
    }
    i
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Index of the first `"`, `\` or control byte at or after `i` (SWAR, 8 bytes per step).
#[inline]
fn string_end(b: &[u8], mut i: usize) -> Option<usize> {
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().ok()?);
        let q = x ^ (ONES * u64::from(b'"'));
        let s = x ^ (ONES * u64::from(b'\\'));
        let mask = (q.wrapping_sub(ONES) & !q
            | s.wrapping_sub(ONES) & !s
            | x.wrapping_sub(ONES * 0x20) & !x)
            & HIGH;
        if mask != 0 {
            return Some(i + (mask.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Scans `[[ts,"v"],…]` from `i` into the columns; the index after the closing `]`, or `None` if anything is
/// not the plain form (see the module doc).
#[inline]
fn scan_values(text: &str, i: usize, ts: &mut Vec<i64>, values: &mut Vec<f64>) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = i;
    if *b.get(i)? != b'[' {
        return None;
    }
    i = skip_ws(b, i + 1);
    if *b.get(i)? == b']' {
        return Some(i + 1);
    }
    loop {
        if *b.get(i)? != b'[' {
            return None;
        }
        i = skip_ws(b, i + 1);
        let (ms, j) = timestamp_ms(b, i)?;
        i = skip_ws(b, j);
        if *b.get(i)? != b',' {
            return None;
        }
        i = skip_ws(b, i + 1);
        if *b.get(i)? != b'"' {
            return None;
        }
        let start = i + 1;
        i = string_end(b, start)?;
        if b[i] != b'"' {
            return None;
        }
        let v = parse_sample_value(text.get(start..i)?)?;
        i = skip_ws(b, i + 1);
        if *b.get(i)? != b']' {
            return None;
        }
        ts.push(ms);
        values.push(v);
        i = skip_ws(b, i + 1);
        match *b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b']' => return Some(i + 1),
            _ => return None,
        }
    }
}

/// `1700000000` or `1700000000.123` (≤ 12 integer digits, no leading zero, ≤ 3 fraction digits) → ms.
#[inline]
fn timestamp_ms(b: &[u8], mut i: usize) -> Option<(i64, usize)> {
    let start = i;
    let mut secs: i64 = 0;
    while let Some(&c) = b.get(i) {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        secs = secs * 10 + i64::from(d);
        i += 1;
        if i - start > 12 {
            return None;
        }
    }
    let digits = i - start;
    if digits == 0 || (digits > 1 && b[start] == b'0') {
        return None;
    }
    let mut ms = secs * 1000;
    match b.get(i) {
        Some(b'.') => {
            i += 1;
            let frac = i;
            let mut scale = 100;
            while let Some(&c) = b.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                if scale == 0 {
                    return None;
                }
                ms += i64::from(d) * scale;
                scale /= 10;
                i += 1;
            }
            if i == frac {
                return None;
            }
        }
        Some(b'e' | b'E') => return None,
        _ => {}
    }
    Some((ms, i))
}

/// A cursor over the body for the JSON structure around the columns.
struct Walk<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Walk<'a> {
    fn ws(&mut self) {
        self.i = skip_ws(self.b, self.i);
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// Any JSON value, decoded by serde_json from the current position.
    fn value<T: Deserialize<'a>>(&mut self) -> Option<T> {
        self.ws();
        let rest = self.text.get(self.i..)?;
        let mut it = serde_json::Deserializer::from_str(rest).into_iter::<T>();
        let v = it.next()?.ok()?;
        self.i += it.byte_offset();
        Some(v)
    }

    /// A string; borrowed when it has no escapes.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.i + 1;
        let mut j = start;
        loop {
            match *self.b.get(j)? {
                b'"' => break,
                b'\\' => return self.value::<String>().map(Cow::Owned),
                c if c < 0x20 => return None,
                _ => j += 1,
            }
        }
        let s = self.text.get(start..j)?;
        self.i = j + 1;
        Some(Cow::Borrowed(s))
    }

    /// `{ "key": value, … }`, calling `f` with the cursor on each value.
    fn object(&mut self, mut f: impl FnMut(&mut Self, &str) -> Option<()>) -> Option<()> {
        self.eat(b'{')?;
        if self.peek()? == b'}' {
            self.i += 1;
            return Some(());
        }
        loop {
            let key = self.string()?;
            self.eat(b':')?;
            f(self, &key)?;
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `[ value, … ]`, calling `f` with the cursor on each element.
    fn array(&mut self, mut f: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        if self.peek()? == b']' {
            self.i += 1;
            return Some(());
        }
        loop {
            f(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{decode_serde, Decoded, QueryDataWithStats};
    use super::*;

    fn series_json(k: usize, points: usize, odd: bool) -> String {
        let values: Vec<String> = (0..points)
            .map(|p| {
                if odd && p == points / 2 {
                    // An escape: this array goes to the serde visitor (inside a half).
                    format!("[{},\"1\\u0030\"]", 1_700_000_000 + p * 15)
                } else {
                    format!(
                        "[{}.5,\"{}\"]",
                        1_700_000_000 + p * 15,
                        (k * p) as f64 / 7.0
                    )
                }
            })
            .collect();
        format!(
            r#"{{"metric":{{"__name__":"m","series":"{k:03}","odd":"]]}},{{\"metric\":"}},"values":[{}]}}"#,
            values.join(",")
        )
    }

    fn body(series: &[String], after: &str) -> String {
        format!(
            r#"{{"status":"success","data":{{"resultType":"matrix","result":[{}]{after}}},"warnings":["w"]}}"#,
            series.join(",")
        )
    }

    fn serde_view(body: &str) -> String {
        match decode_serde::<QueryDataWithStats>(body.as_bytes()) {
            Decoded::Success(r) => format!("{r:?}"),
            _ => "error".into(),
        }
    }

    fn split_taken(body: &str) -> bool {
        let text = body;
        let mut w = Walk {
            text,
            b: text.as_bytes(),
            i: text.find("\"result\":").unwrap() + 9,
        };
        matrix_in_two(&mut w).is_some()
    }

    #[test]
    fn two_halves_equal_the_serde_path() {
        let series: Vec<String> = (0..120).map(|k| series_json(k, 700, k == 90)).collect();
        let b = body(&series, "");
        assert!(b.len() > PARALLEL_MIN_BYTES);
        assert!(split_taken(&b));
        let fast = decode(b.as_bytes()).expect("fast path");
        assert_eq!(format!("{fast:?}"), serde_view(&b));
        assert_eq!(fast.data.data.as_matrix().len(), 120);
    }

    #[test]
    fn two_halves_decline_boundaries_outside_the_array_and_other_layouts() {
        // The result is small; the boundary bytes appear only in an unknown key after it.
        let small: Vec<String> = (0..3).map(|k| series_json(k, 10, false)).collect();
        let filler = format!(
            r#","zzz":[{{"a":[[1]]}},{{"metric":1}},"{}"]"#,
            "x".repeat(2 * PARALLEL_MIN_BYTES)
        );
        let mut b = body(&small, "");
        b.insert_str(b.find(r#"]},"warnings""#).unwrap() + 1, &filler);
        assert!(!split_taken(&b));
        let fast = decode(b.as_bytes()).expect("fast path, sequentially");
        assert_eq!(format!("{fast:?}"), serde_view(&b));

        // Whitespace between series: no boundary, sequential.
        let series: Vec<String> = (0..120).map(|k| series_json(k, 700, false)).collect();
        let b = body(&series, "").replace("]]},{\"metric\":{", "]]} , {\"metric\":{");
        assert!(!split_taken(&b));
        assert_eq!(
            format!("{:?}", decode(b.as_bytes()).expect("fast path")),
            serde_view(&b)
        );

        // Invalid JSON in the second half: the whole body goes to the serde path, which reports it.
        let b = body(&series, "").replacen("[1700000000.5", "[1700000000.5,", 100);
        assert!(decode(b.as_bytes()).is_none());
        assert_eq!(serde_view(&b), "error");
    }
}
