//! Fast, typed decoding of Prometheus API bodies.
//!
//! Performance matters here: a 200-series × 1 100-point `query_range` answer is ~5 MB of JSON, and decoding it
//! through `serde_json::Value` is 4–5× slower than typed decoding (performance.md §3.2). So:
//! - the body is buffered and parsed from a slice (`from_reader` is ~3× slower);
//! - `[ts, "value"]` pairs are visited in place: the value string is borrowed from the input and parsed straight
//!   to `f64` (`NaN`, `+Inf`, `-Inf` included) and pushed into the series' value column, the timestamp into the
//!   `i64` millisecond column — no per-point allocation, no intermediate structs;
//! - each series' columns are pre-sized from the previous series' length (range results have near-equal
//!   lengths), so they are allocated once;
//! - `result` normally follows `resultType` (Prometheus' field order); if another server sends it first, it is
//!   buffered as a `serde_json::Value` and decoded once the type is known (grafana#64693).
//!
//! The decoders are plain `serde::Deserialize` impls, so they work with any serde data format.
//!
//! The one big answer — a successful matrix — first goes through the `matrix` submodule's fast path: the JSON
//! structure is walked by hand, every small value in it is decoded by serde_json, and only the `values` arrays
//! are scanned by a tight loop into the columns (two threads for answers over 1 MiB); anything it does not
//! recognise falls back to the serde visitors here, so results and errors stay exactly theirs (unit tests
//! compare both paths, also on generated bodies).
//!
//! Measured on a 7.4 MB, 200 × 1 100-point Prometheus answer on the shared 2-core machine
//! (`plugin/benches/querydata.rs`, medians): serde visitors ≈19 ms (≈390 MB/s); sonic-rs 0.5.10 with the same
//! visitors ≈17 ms (no gain without `-C target-cpu=native`: its SIMD paths are chosen at compile time, so a
//! plugin shipped as a generic x86-64 binary gets its scalar fallback, correct but not faster); the fast path
//! ≈7–9 ms on one core, ≈4.6 ms when both threads get a core (≈1.6 GB/s), about half of it `str::parse::<f64>`
//! of the value strings; serde_json's bare validating scan (`IgnoredAny`) ≈5 ms; `serde_json::Value` ≈58 ms for
//! a 4.8 MB body.

mod matrix;

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::types::{
    HistogramBucket, Labels, NativeHistogram, Point, QueryData, Response, ResultType, Sample,
    SampleStats, Series, Stats, StringPoint, Timings,
};

/// Parses a Prometheus sample value string. Accepts Go's spellings of the special values.
pub fn parse_sample_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

/// Unix seconds (float, ms precision) to milliseconds.
#[inline]
fn to_ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

/// The API envelope `{"status", "data", "errorType", "error", "warnings", "infos", "isPartial"}`.
#[derive(Deserialize)]
pub(crate) struct Envelope<T> {
    pub status: String,
    pub data: Option<T>,
    #[serde(rename = "errorType")]
    pub error_type: Option<String>,
    pub error: Option<String>,
    pub warnings: Option<Vec<String>>,
    pub infos: Option<Vec<String>>,
    #[serde(rename = "isPartial")]
    pub is_partial: Option<bool>,
}

/// Outcome of decoding a body, before HTTP-status mapping.
pub(crate) enum Decoded<T> {
    /// `status: success` with data.
    Success(Response<T>),
    /// `status: error`.
    ApiError { error_type: String, message: String },
    /// Valid envelope, but `data` did not decode (reason).
    BadData(String),
    /// Not a Prometheus API envelope at all (reason).
    NotEnvelope(String),
}

/// Something that carries query stats out of `data` (only query data does).
pub(crate) trait TakeStats: Sized {
    fn take_stats(&mut self) -> Option<Stats> {
        None
    }

    /// A faster decoder for the common case of this type, if it has one (`None`: use the serde path).
    fn decode_fast(_body: &[u8]) -> Option<Response<Self>> {
        None
    }
}

impl TakeStats for Vec<Labels> {}
impl TakeStats for Vec<String> {}
impl TakeStats for crate::types::RulesData {}
impl TakeStats for crate::types::BuildInfo {}

/// Decodes any API body.
pub(crate) fn decode<T>(body: &[u8]) -> Decoded<T>
where
    T: for<'de> Deserialize<'de> + TakeStats,
{
    match T::decode_fast(body) {
        Some(r) => Decoded::Success(r),
        None => decode_serde(body),
    }
}

/// The general path: serde_json over the whole body.
fn decode_serde<T>(body: &[u8]) -> Decoded<T>
where
    T: for<'de> Deserialize<'de> + TakeStats,
{
    match parse_slice::<Envelope<T>>(body) {
        Ok(env) => from_envelope(env),
        Err(full_err) => match serde_json::from_slice::<Envelope<IgnoredAny>>(body) {
            Ok(env) if env.status == "error" => Decoded::ApiError {
                error_type: env.error_type.unwrap_or_default(),
                message: env.error.unwrap_or_default(),
            },
            Ok(env) if env.status == "success" => Decoded::BadData(full_err),
            Ok(env) => Decoded::NotEnvelope(format!("unknown status {:?}", env.status)),
            Err(e) => Decoded::NotEnvelope(e.to_string()),
        },
    }
}

fn parse_slice<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

fn from_envelope<T: TakeStats>(env: Envelope<T>) -> Decoded<T> {
    match env.status.as_str() {
        "success" => match env.data {
            Some(mut data) => {
                let stats = data.take_stats();
                Decoded::Success(Response {
                    data,
                    warnings: env.warnings.unwrap_or_default(),
                    infos: env.infos.unwrap_or_default(),
                    is_partial: env.is_partial,
                    stats,
                })
            }
            None => Decoded::BadData("`status: success` without `data`".into()),
        },
        "error" => Decoded::ApiError {
            error_type: env.error_type.unwrap_or_default(),
            message: env.error.unwrap_or_default(),
        },
        other => Decoded::NotEnvelope(format!("unknown status {other:?}")),
    }
}

/// `data` of a query: the result plus `stats`.
#[derive(Debug)]
pub(crate) struct QueryDataWithStats {
    pub data: QueryData,
    pub stats: Option<Stats>,
}

impl TakeStats for QueryDataWithStats {
    fn take_stats(&mut self) -> Option<Stats> {
        self.stats.take()
    }

    fn decode_fast(body: &[u8]) -> Option<Response<Self>> {
        matrix::decode(body)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum DataKey {
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "result")]
    Result,
    #[serde(rename = "stats")]
    Stats,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum ResultTypeDe {
    Vector,
    Matrix,
    Scalar,
    String,
}

impl From<ResultTypeDe> for ResultType {
    fn from(r: ResultTypeDe) -> Self {
        match r {
            ResultTypeDe::Vector => ResultType::Vector,
            ResultTypeDe::Matrix => ResultType::Matrix,
            ResultTypeDe::Scalar => ResultType::Scalar,
            ResultTypeDe::String => ResultType::String,
        }
    }
}

impl<'de> Deserialize<'de> for QueryDataWithStats {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DataVisitor;
        impl<'de> Visitor<'de> for DataVisitor {
            type Value = QueryDataWithStats;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a query data object {resultType, result}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut result_type: Option<ResultType> = None;
                let mut result: Option<QueryData> = None;
                let mut deferred: Option<serde_json::Value> = None;
                let mut stats: Option<Stats> = None;
                while let Some(key) = map.next_key::<DataKey>()? {
                    match key {
                        DataKey::ResultType => {
                            result_type = Some(map.next_value::<ResultTypeDe>()?.into())
                        }
                        DataKey::Result => match result_type {
                            Some(t) => result = Some(map.next_value_seed(ResultSeed(t))?),
                            None => deferred = Some(map.next_value()?),
                        },
                        DataKey::Stats => {
                            let raw: serde_json::Value = map.next_value()?;
                            stats = Some(stats_from_value(raw).map_err(de::Error::custom)?);
                        }
                        DataKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                let rt = result_type.ok_or_else(|| de::Error::missing_field("resultType"))?;
                let data = match (result, deferred) {
                    (Some(r), _) => r,
                    (None, Some(v)) => ResultSeed(rt).deserialize(v).map_err(de::Error::custom)?,
                    (None, None) => return Err(de::Error::missing_field("result")),
                };
                Ok(QueryDataWithStats { data, stats })
            }
        }
        d.deserialize_map(DataVisitor)
    }
}

fn stats_from_value(raw: serde_json::Value) -> Result<Stats, serde_json::Error> {
    #[derive(Deserialize)]
    struct TypedStats {
        timings: Option<Timings>,
        samples: Option<SampleStats>,
    }
    let typed: TypedStats = serde_json::from_value(raw.clone())?;
    Ok(Stats {
        timings: typed.timings,
        samples: typed.samples,
        raw,
    })
}

/// Decodes `result` once its type is known.
struct ResultSeed(ResultType);

impl<'de> DeserializeSeed<'de> for ResultSeed {
    type Value = QueryData;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<QueryData, D::Error> {
        Ok(match self.0 {
            ResultType::Matrix => QueryData::Matrix(d.deserialize_seq(MatrixVisitor)?),
            ResultType::Vector => QueryData::Vector(Vec::<Sample>::deserialize(d)?),
            ResultType::Scalar => {
                let (t, v) = d.deserialize_seq(PairVisitor)?;
                QueryData::Scalar(Point {
                    timestamp_ms: t,
                    value: v,
                })
            }
            ResultType::String => {
                let (t, s) = <(f64, String)>::deserialize(d)?;
                QueryData::String(StringPoint {
                    timestamp_ms: to_ms(t),
                    value: s,
                })
            }
        })
    }
}

struct MatrixVisitor;

impl<'de> Visitor<'de> for MatrixVisitor {
    type Value = Vec<Series>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a matrix (array of series)")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        let mut capacity_hint = 0;
        while let Some(series) = seq.next_element_seed(SeriesSeed { capacity_hint })? {
            capacity_hint = series.values.len();
            out.push(series);
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum SeriesKey {
    #[serde(rename = "metric")]
    Metric,
    #[serde(rename = "values")]
    Values,
    #[serde(rename = "histograms")]
    Histograms,
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "histogram")]
    Histogram,
    #[serde(other)]
    Other,
}

/// One matrix series, columns pre-sized to `capacity_hint` points.
struct SeriesSeed {
    capacity_hint: usize,
}

impl<'de> DeserializeSeed<'de> for SeriesSeed {
    type Value = Series;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Series, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SeriesSeed {
    type Value = Series;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a series {metric, values}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Series, A::Error> {
        let mut s = Series {
            labels: Labels::default(),
            timestamps_ms: Vec::with_capacity(self.capacity_hint),
            values: Vec::with_capacity(self.capacity_hint),
            histograms: Vec::new(),
        };
        while let Some(key) = map.next_key::<SeriesKey>()? {
            match key {
                SeriesKey::Metric => s.labels = map.next_value()?,
                SeriesKey::Values => map.next_value_seed(ColumnsSeed {
                    ts: &mut s.timestamps_ms,
                    values: &mut s.values,
                })?,
                SeriesKey::Histograms => {
                    let points: Vec<(f64, HistogramDe)> = map.next_value()?;
                    s.histograms = points.into_iter().map(|(t, h)| (to_ms(t), h.0)).collect();
                }
                SeriesKey::Value | SeriesKey::Histogram | SeriesKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(s)
    }
}

/// Visits `[[ts, "v"], ...]`, pushing into the two columns.
struct ColumnsSeed<'a> {
    ts: &'a mut Vec<i64>,
    values: &'a mut Vec<f64>,
}

impl<'de> DeserializeSeed<'de> for ColumnsSeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ColumnsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of [timestamp, \"value\"] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            self.ts.reserve(n);
            self.values.reserve(n);
        }
        while let Some((t, v)) = seq.next_element_seed(PairSeed)? {
            self.ts.push(t);
            self.values.push(v);
        }
        Ok(())
    }
}

struct PairSeed;

impl<'de> DeserializeSeed<'de> for PairSeed {
    type Value = (i64, f64);
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(i64, f64), D::Error> {
        d.deserialize_seq(PairVisitor)
    }
}

/// `[1700000000.123, "1.5"]` → (ms, value).
struct PairVisitor;

impl<'de> Visitor<'de> for PairVisitor {
    type Value = (i64, f64);
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a [timestamp, \"value\"] pair")
    }
    #[inline]
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(i64, f64), A::Error> {
        let t: f64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let v: FloatStr = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        Ok((to_ms(t), v.0))
    }
}

/// A sample value sent as a JSON string (or, leniently, a number), parsed without allocating.
struct FloatStr(f64);

impl<'de> Deserialize<'de> for FloatStr {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FloatStr;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a sample value string such as \"1.5\", \"NaN\" or \"+Inf\"")
            }
            #[inline]
            fn visit_str<E: de::Error>(self, s: &str) -> Result<FloatStr, E> {
                parse_sample_value(s)
                    .map(FloatStr)
                    .ok_or_else(|| E::custom(format!("invalid sample value {s:?}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<FloatStr, E> {
                Ok(FloatStr(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FloatStr, E> {
                Ok(FloatStr(v as f64))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FloatStr, E> {
                Ok(FloatStr(v as f64))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Labels {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Labels;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a label set object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Labels, A::Error> {
                let mut v = Vec::with_capacity(map.size_hint().unwrap_or(4));
                while let Some(kv) = map.next_entry::<String, String>()? {
                    v.push(kv);
                }
                Ok(Labels(v))
            }
        }
        d.deserialize_map(V)
    }
}

impl serde::Serialize for Labels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum SampleKey {
    #[serde(rename = "metric")]
    Metric,
    #[serde(rename = "value")]
    Value,
    #[serde(rename = "histogram")]
    Histogram,
    #[serde(other)]
    Other,
}

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Sample;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a vector sample {metric, value}")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Sample, A::Error> {
                let mut labels = Labels::default();
                let mut point: Option<(i64, f64)> = None;
                let mut histogram: Option<(i64, NativeHistogram)> = None;
                while let Some(key) = map.next_key::<SampleKey>()? {
                    match key {
                        SampleKey::Metric => labels = map.next_value()?,
                        SampleKey::Value => point = Some(map.next_value_seed(PairSeed)?),
                        SampleKey::Histogram => {
                            let (t, h): (f64, HistogramDe) = map.next_value()?;
                            histogram = Some((to_ms(t), h.0));
                        }
                        SampleKey::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match (point, histogram) {
                    (Some((t, v)), h) => Ok(Sample {
                        labels,
                        timestamp_ms: t,
                        value: v,
                        histogram: h.map(|(_, h)| h),
                    }),
                    (None, Some((t, h))) => Ok(Sample {
                        labels,
                        timestamp_ms: t,
                        value: f64::NAN,
                        histogram: Some(h),
                    }),
                    (None, None) => Err(de::Error::missing_field("value")),
                }
            }
        }
        d.deserialize_map(V)
    }
}

/// Wire form of a native histogram.
struct HistogramDe(NativeHistogram);

impl<'de> Deserialize<'de> for HistogramDe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            count: FloatStr,
            sum: FloatStr,
            #[serde(default)]
            buckets: Vec<(u8, FloatStr, FloatStr, FloatStr)>,
        }
        let r = Raw::deserialize(d)?;
        Ok(HistogramDe(NativeHistogram {
            count: r.count.0,
            sum: r.sum.0,
            buckets: r
                .buckets
                .into_iter()
                .map(|(rule, lo, hi, c)| HistogramBucket {
                    boundary_rule: rule,
                    lower: lo.0,
                    upper: hi.0,
                    count: c.0,
                })
                .collect(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(body: &str) -> Response<QueryData> {
        match decode::<QueryDataWithStats>(body.as_bytes()) {
            Decoded::Success(r) => {
                let mut r2 = r.map(|d| d.data);
                // stats were lifted by TakeStats
                r2.stats = r2.stats.take();
                r2
            }
            Decoded::ApiError {
                error_type,
                message,
            } => panic!("api error {error_type}: {message}"),
            Decoded::BadData(e) => panic!("bad data: {e}"),
            Decoded::NotEnvelope(e) => panic!("not envelope: {e}"),
        }
    }

    #[test]
    fn parses_special_values() {
        assert!(parse_sample_value("NaN").unwrap().is_nan());
        assert_eq!(parse_sample_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_sample_value("-Inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_sample_value("1e-3"), Some(0.001));
        assert_eq!(
            parse_sample_value("0.6166666666666667"),
            Some(0.6166666666666667)
        );
        assert_eq!(parse_sample_value("x"), None);
        assert_eq!(parse_sample_value(""), None);
    }

    #[test]
    fn decodes_matrix_columnar_with_specials_and_stats() {
        let r = query(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"__name__":"up","job":"a\"b"},"values":[[1700000000,"1"],[1700000015.5,"NaN"],[1700000030.123,"+Inf"],[1700000045,"-Inf"]]},
              {"metric":{},"values":[[1700000000,"2.5"]]}],
              "stats":{"timings":{"evalTotalTime":0.01},"samples":{"totalQueryableSamples":5,"peakSamples":4}}},
              "warnings":["partial: store down"],"infos":["info1"],"isPartial":true}"#,
        );
        let m = r.data.as_matrix();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].labels.get("job"), Some("a\"b"));
        assert_eq!(
            m[0].timestamps_ms,
            vec![
                1_700_000_000_000,
                1_700_000_015_500,
                1_700_000_030_123,
                1_700_000_045_000
            ]
        );
        assert_eq!(m[0].values[0], 1.0);
        assert!(m[0].values[1].is_nan());
        assert_eq!(m[0].values[2], f64::INFINITY);
        assert_eq!(m[0].values[3], f64::NEG_INFINITY);
        assert!(m[1].labels.is_empty());
        assert_eq!(r.warnings, vec!["partial: store down"]);
        assert_eq!(r.infos, vec!["info1"]);
        assert_eq!(r.is_partial, Some(true));
        let stats = r.stats.expect("stats");
        assert_eq!(stats.samples.unwrap().total_queryable_samples, 5);
        assert_eq!(stats.timings.unwrap().eval_total_time, 0.01);
        assert_eq!(stats.raw["samples"]["peakSamples"], 4);
    }

    #[test]
    fn decodes_result_before_result_type() {
        let r = query(
            r#"{"status":"success","data":{"result":[{"metric":{"a":"b"},"value":[1700000000.5,"3"]}],"resultType":"vector"}}"#,
        );
        let v = r.data.as_vector();
        assert_eq!(v.len(), 1);
        assert_eq!((v[0].timestamp_ms, v[0].value), (1_700_000_000_500, 3.0));
        assert_eq!(r.is_partial, None);
        assert!(r.stats.is_none());
    }

    #[test]
    fn decodes_scalar_string_and_histograms() {
        let r = query(
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}"#,
        );
        assert_eq!(
            r.data,
            QueryData::Scalar(Point {
                timestamp_ms: 1_700_000_000_000,
                value: 42.0
            })
        );
        let r = query(r#"{"status":"success","data":{"resultType":"string","result":[1.5,"hi"]}}"#);
        assert_eq!(
            r.data,
            QueryData::String(StringPoint {
                timestamp_ms: 1500,
                value: "hi".into()
            })
        );
        let r = query(
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"3","sum":"1.5","buckets":[[0,"0.5","1","3"]]}]}]}}"#,
        );
        let s = &r.data.as_vector()[0];
        assert!(s.value.is_nan());
        let h = s.histogram.as_ref().unwrap();
        assert_eq!((h.count, h.sum, h.buckets[0].upper), (3.0, 1.5, 1.0));
        let r = query(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[[2,{"count":"1","sum":"2"}]]}]}}"#,
        );
        assert_eq!(r.data.as_matrix()[0].histograms[0].0, 2000);
    }

    #[test]
    fn classifies_errors_and_garbage() {
        assert!(matches!(
            decode::<QueryDataWithStats>(br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#),
            Decoded::ApiError { ref error_type, ref message } if error_type == "bad_data" && message == "parse error"
        ));
        assert!(matches!(
            decode::<QueryDataWithStats>(b"<html>404</html>"),
            Decoded::NotEnvelope(_)
        ));
        assert!(matches!(
            decode::<QueryDataWithStats>(br#"{"hello":"world"}"#),
            Decoded::NotEnvelope(_)
        ));
        match decode::<QueryDataWithStats>(
            br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"abc"]]}]}}"#,
        ) {
            Decoded::BadData(e) => assert!(e.contains("invalid sample value \"abc\""), "{e}"),
            _ => panic!("expected BadData"),
        }
        assert!(matches!(
            decode::<QueryDataWithStats>(
                br#"{"status":"success","data":{"resultType":"tensor","result":[]}}"#
            ),
            Decoded::BadData(_)
        ));
        assert!(matches!(
            decode::<QueryDataWithStats>(br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1",2]]}]}}"#),
            Decoded::BadData(_)
        ));
        // Lenient: a number where a value string is expected is accepted.
        assert!(matches!(
            decode::<QueryDataWithStats>(br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,1.5]]}]}}"#),
            Decoded::Success(ref r) if r.data.data.as_matrix()[0].values == vec![1.5]
        ));
        assert!(matches!(
            decode::<QueryDataWithStats>(br#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,true]]}]}}"#),
            Decoded::BadData(_)
        ));
    }

    fn show(d: Decoded<QueryDataWithStats>) -> String {
        match d {
            Decoded::Success(r) => format!("ok {r:?}"),
            Decoded::ApiError {
                error_type,
                message,
            } => format!("api {error_type} {message}"),
            Decoded::BadData(e) => format!("bad {e}"),
            Decoded::NotEnvelope(e) => format!("env {e}"),
        }
    }

    /// The public decoder (fast path first) gives exactly what the serde path gives; returns whether the
    /// fast path took the whole body.
    fn same_as_serde(body: &str) -> bool {
        let fast_whole = matrix::decode(body.as_bytes()).is_some();
        let got = show(decode::<QueryDataWithStats>(body.as_bytes()));
        let want = show(decode_serde::<QueryDataWithStats>(body.as_bytes()));
        assert_eq!(got, want, "body: {body}");
        fast_whole
    }

    #[test]
    fn fast_matrix_path_equals_serde_path() {
        let taken = [
            r#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"__name__":"up","job":"a\"b"},"values":[[1700000000,"1"],[1700000015.5,"NaN"],[1700000030.123,"+Inf"],[1700000045,"-Inf"]]},
              {"metric":{},"values":[[1700000000,"2.5"]]}],
              "stats":{"timings":{"evalTotalTime":0.01},"samples":{"totalQueryableSamples":5,"peakSamples":4}}},
              "warnings":["partial: store down"],"infos":["info1"],"isPartial":true}"#,
            "{ \"status\" : \"success\" ,\n \"data\" : { \"resultType\" : \"matrix\" , \"result\" : [ { \"metric\" : { \"a\" : \"b\" } , \"values\" : [ [ 1 , \"1e-3\" ] ,\r\n\t[ 2.25 , \"-0\" ] ] } ] } }  \n",
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[]}]}}"#,
            r#"{"status":"success","isPartial":null,"warnings":null,"data":{"resultType":"matrix","extra":[1,{"x":null}],"result":[{"values":[[0,"0"]],"extra":true,"metric":{"x":"\u00e9\n"}}]}}"#,
            r#"{"st\u0061tus":"success","data":{"resultType":"matrix","result":[{"metric":{},"histograms":[[2,{"count":"1","sum":"2"}]],"values":[[3,"4"]]}]}}"#,
            // Per-array fallbacks: the serde visitor decodes these arrays.
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,1.5],[2,"3"]]},{"metric":{},"values":[[1.7e9,"1"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1.0005,"1"],[-2,"\u0031"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]},{"metric":{},"values":[[1,"1"],[2,"2"],[3,"3"]]}]}}"#,
        ];
        for body in taken {
            assert!(same_as_serde(body), "fast path should take {body}");
        }
        let not_taken = [
            r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#,
            r#"{"status":"success","data":{"result":[{"metric":{},"values":[[1,"1"]]}],"resultType":"matrix"}}"#,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"b"},"value":[1700000000.5,"3"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"scalar","result":[1700000000,"42"]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}} x"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"abc"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1",2]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[01,"1"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,true]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]],"values":[[2,"2"]]}]}}"#,
            r#"{"status":"success","status":"success","data":{"resultType":"matrix","result":[]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":1},"values":[[1,"1"]]}]}}"#,
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]},"isPartial":"yes"}"#,
            "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"1\t\"]]}]}}",
            r#"{"status":"success","data":null}"#,
            "",
        ];
        for body in not_taken {
            assert!(!same_as_serde(body), "fast path should decline {body}");
        }
    }

    #[test]
    fn fast_matrix_path_declines_invalid_utf8_like_serde() {
        let mut body = br#"{"status":"success","x":"#.to_vec();
        body.extend_from_slice(b"\"\xff\"");
        body.extend_from_slice(
            br#","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"]]}]}}"#,
        );
        assert!(matrix::decode(&body).is_none());
        assert_eq!(
            show(decode::<QueryDataWithStats>(&body)),
            show(decode_serde::<QueryDataWithStats>(&body))
        );
    }

    /// Randomised bodies (deterministic seed): number formats, whitespace, specials, precision.
    #[test]
    fn fast_matrix_path_equals_serde_path_on_generated_bodies() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let values = [
            "0",
            "1",
            "-1",
            "1.5",
            "NaN",
            "+Inf",
            "-Inf",
            "Inf",
            "1e300",
            "1e-320",
            "0.1",
            "-0",
            "115.36865585851089",
            "9007199254740993",
            "1.7976931348623157e308",
            "2.2250738585072014e-308",
            ".5",
            "5.",
            "+1",
            "0x10",
            "1_0",
            "inf",
            "",
            // Escapes and control characters before and after the first 8 bytes (SWAR string scan).
            "12345678901234\\u0035",
            "1\\u0035",
            "1234567890123\t",
            "12\n",
            "1234567.123456789012345678",
        ];
        let timestamps = [
            "0",
            "1",
            "1700000000",
            "1700000000.1",
            "1700000000.12",
            "1700000000.123",
            "1700000000.1234",
            "1700000000.0005",
            "999999999999.999",
            "1000000000000",
            "1.7e9",
            "-5",
            "-0.5",
            "0.001",
        ];
        let mut fast = 0;
        for _ in 0..400 {
            let ws = |k: u64| match k {
                0 => " ",
                1 => "\n\t",
                _ => "",
            };
            let mut body =
                String::from(r#"{"status":"success","data":{"resultType":"matrix","result":["#);
            for s in 0..next(3) + 1 {
                if s > 0 {
                    body.push(',');
                }
                body.push_str(r#"{"metric":{"s":"x"},"values":["#);
                body.push_str(ws(next(6)));
                for p in 0..next(5) {
                    if p > 0 {
                        body.push(',');
                        body.push_str(ws(next(6)));
                    }
                    let t = timestamps[next(timestamps.len() as u64) as usize];
                    let v = values[next(values.len() as u64) as usize];
                    let quoted = next(10) != 0;
                    body.push_str(&format!(
                        "[{}{t}{},{}{}{v}{}{}]",
                        ws(next(8)),
                        ws(next(8)),
                        ws(next(8)),
                        if quoted { "\"" } else { "" },
                        if quoted { "\"" } else { "" },
                        ws(next(8))
                    ));
                }
                body.push_str("]}");
            }
            body.push_str("]}}");
            if same_as_serde(&body) {
                fast += 1;
            }
        }
        assert!(fast > 50, "the fast path took only {fast} of 400 bodies");
    }
}
