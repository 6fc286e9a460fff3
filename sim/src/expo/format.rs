//! Number and label formatting exactly as the real exporters print them.
//!
//! - vLLM (Python `prometheus_client`): `floatToGoString` — Python `repr` (`246.0`, `0.0011764705882353343`),
//!   except that positive numbers with more than 6 integer digits switch to Go-like exponents
//!   (`1.7710424574207425e+09`, and the library's quirk `1.372014592e+010` for 11 digits).
//! - TGI (Rust `metrics-exporter-prometheus` 0.15): Rust's `Display` for `f64` (`0.00015000000000000001`,
//!   `16000`, `0.00007`), integers for counters.

/// Python's `repr(float)`.
pub fn py_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() {
            "-0.0".into()
        } else {
            "0.0".into()
        };
    }
    // Shortest round-trip digits and decimal exponent from Rust's `{:e}` (same algorithm class as Python's).
    let sci = format!("{:e}", v.abs());
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if v < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let s = if exp >= 0 {
            let int_len = exp + 1;
            if n <= int_len {
                format!("{}{}.0", digits, "0".repeat((int_len - n) as usize))
            } else {
                format!(
                    "{}.{}",
                    &digits[..int_len as usize],
                    &digits[int_len as usize..]
                )
            }
        } else {
            format!("0.{}{}", "0".repeat((-exp - 1) as usize), digits)
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() == 1 {
            digits.clone()
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// Python `prometheus_client.utils.floatToGoString`.
pub fn py_float(v: f64) -> String {
    if v == f64::INFINITY {
        return "+Inf".into();
    }
    if v == f64::NEG_INFINITY {
        return "-Inf".into();
    }
    if v.is_nan() {
        return "NaN".into();
    }
    let s = py_repr(v);
    if v > 0.0 {
        if let Some(dot) = s.find('.') {
            if dot > 6 {
                let raw = format!("{}.{}{}", &s[..1], &s[1..dot], &s[dot + 1..]);
                let mantissa = raw.trim_end_matches(['0', '.']);
                return format!("{mantissa}e+0{}", dot - 1);
            }
        }
    }
    s
}

/// Rust `Display` of an `f64`, as `metrics-exporter-prometheus` prints values and `le`/`quantile` labels.
pub fn rust_float(v: f64) -> String {
    if v == f64::INFINITY {
        return "+Inf".into();
    }
    if v == f64::NEG_INFINITY {
        return "-Inf".into();
    }
    if v.is_nan() {
        return "NaN".into();
    }
    format!("{v}")
}

/// C++ `std::ostream << double` with the default precision (`%g`, 6 significant digits), as llama.cpp's
/// server prints every metric value: `33065`, `2903.63`, `1.23457e+06`, `0`.
pub fn cpp_g6(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // Round to 6 significant digits first: the exponent after rounding decides the style (as printf does).
    let sci = format!("{:.5e}", v);
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("integer exponent");
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if !(-4..6).contains(&exp) {
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{}e{esign}{:02}", trim(mant), exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim(&format!("{v:.decimals$}"))
    }
}

/// Label-value escaping of the text formats (backslash, double quote, newline).
pub fn escape_label_value(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// HELP-text escaping of the text formats (backslash, newline).
pub fn escape_help(v: &str, out: &mut String) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_formatting_matches_the_vllm_capture() {
        // Every number below is copied from ../shared/fixtures/vllm-0.10.x-ngc25.09-metrics.txt.
        for (v, s) in [
            (246.0, "246.0"),
            (0.0011764705882353343, "0.0011764705882353343"),
            (1.7710424574207425e9, "1.7710424574207425e+09"),
            (1.372014592e10, "1.372014592e+010"),
            (1.109622784e9, "1.109622784e+09"),
            (1.77104238234e9, "1.77104238234e+09"),
            (14.040000000000001, "14.040000000000001"),
            (0.0003117750002274988, "0.0003117750002274988"),
            (65535.0, "65535.0"),
            (2560.0, "2560.0"),
            (0.001, "0.001"),
            (f64::INFINITY, "+Inf"),
            (0.0, "0.0"),
        ] {
            assert_eq!(py_float(v), s, "{v}");
        }
        assert_eq!(py_repr(1e-5), "1e-05");
        assert_eq!(py_repr(1e16), "1e+16");
        assert_eq!(py_repr(123456.0), "123456.0");
        assert_eq!(py_float(1_000_000.0), "1e+06");
    }

    #[test]
    fn cpp_formatting_matches_llama_cpp_output() {
        // Values as llama-server prints them (metrics-catalog.md §4 sources and public captures).
        for (v, s) in [
            (33065.0, "33065"),
            (235.743, "235.743"),
            (2903.634, "2903.63"),
            (2.371512, "2.37151"),
            (1_234_567.0, "1.23457e+06"),
            (999_999.7, "1e+06"),
            (0.0, "0"),
            (0.5, "0.5"),
            (0.00001234, "1.234e-05"),
            (100_000.0, "100000"),
        ] {
            assert_eq!(cpp_g6(v), s, "{v}");
        }
    }

    #[test]
    fn rust_formatting_matches_the_tgi_rendering() {
        for (v, s) in [
            (0.0001 * 1.5, "0.00015000000000000001"),
            (16000.0, "16000"),
            (0.00007, "0.00007"),
            (1.0, "1"),
        ] {
            assert_eq!(rust_float(v), s);
        }
    }
}
