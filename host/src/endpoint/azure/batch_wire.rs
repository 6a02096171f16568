//! The Blob Batch wire format: a `multipart/mixed` body of HTTP sub-requests, and the
//! `multipart/mixed` answer with one HTTP response per sub-request.

use azure_core::http::Method;

/// One sub-request, as it is written into the batch.
pub(super) struct SubRequest {
    /// `DELETE` or `PUT`.
    pub method: Method,
    /// The path and query as they go on the request line (`/container/blob?comp=tier`),
    /// percent-encoded.
    pub target: String,
    /// Headers, in order (`x-ms-date`, conditions, `Authorization`).
    pub headers: Vec<(String, String)>,
}

/// The batch's body: each sub-request a part with its index as `Content-ID`.
pub(super) fn body(boundary: &str, requests: &[SubRequest]) -> Vec<u8> {
    let mut out = String::with_capacity(requests.len() * 400);
    for (i, r) in requests.iter().enumerate() {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: \
             binary\r\nContent-ID: {i}\r\n\r\n{} {} HTTP/1.1\r\n",
            r.method.as_ref(),
            r.target
        ));
        for (name, value) in &r.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("Content-Length: 0\r\n\r\n\r\n");
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

/// One sub-request's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// `x-ms-error-code`, on a failure.
    pub code: Option<String>,
}

/// The answers of a batch response, in the sub-requests' order; `None` unless there is one
/// per sub-request (the service refused the batch as a whole: one answer, no
/// `Content-ID`).
pub(super) fn answers(content_type: &str, body: &[u8], count: usize) -> Option<Vec<Answer>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    let mut by_id: Vec<Option<Answer>> = vec![None; count];
    let mut in_order = Vec::new();
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let (id, answer) = part_answer(part)?;
        match id {
            Some(id) if id < count && by_id[id].is_none() => by_id[id] = Some(answer.clone()),
            Some(_) => return None,
            None => {}
        }
        in_order.push(answer);
    }
    if in_order.len() != count {
        return None;
    }
    // Parts without a Content-ID (the service leaves it off some failures) stand where
    // they come.
    Some(
        by_id
            .into_iter()
            .zip(in_order)
            .map(|(by_id, at)| by_id.unwrap_or(at))
            .collect(),
    )
}

/// One part: its `Content-ID` and the status and error code of the response it holds.
fn part_answer(part: &str) -> Option<(Option<usize>, Answer)> {
    let mut lines = part.split('\n').map(|l| l.trim_end_matches('\r'));
    let mut id = None;
    // The part's own headers, up to the blank line.
    for line in lines.by_ref().skip_while(|l| l.is_empty()) {
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-id")
        {
            id = value.trim().parse().ok();
        }
    }
    let status_line = lines.by_ref().find(|l| !l.is_empty())?;
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let mut code = None;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.trim().eq_ignore_ascii_case("x-ms-error-code")
        {
            code = Some(value.trim().to_string());
        }
    }
    Some((id, Answer { status, code }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_has_a_part_per_sub_request_and_a_closing_boundary() {
        let requests = [SubRequest {
            method: Method::Delete,
            target: "/c/a%20b.txt".into(),
            headers: vec![("x-ms-date".into(), "now".into())],
        }];
        let body = String::from_utf8(body("batch_1", &requests)).unwrap();
        assert_eq!(
            body,
            "--batch_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: \
             binary\r\nContent-ID: 0\r\n\r\nDELETE /c/a%20b.txt HTTP/1.1\r\nx-ms-date: now\r\n\
             Content-Length: 0\r\n\r\n\r\n--batch_1--\r\n"
        );
    }

    #[test]
    fn answers_are_matched_by_content_id_and_a_refused_batch_is_none() {
        let response = "--batchresponse_x\r\nContent-Type: application/http\r\nContent-ID: \
             1\r\n\r\nHTTP/1.1 412 Condition not met\r\nx-ms-error-code: ConditionNotMet\r\n\
             Content-Length: 3\r\n\r\n<E>\r\n--batchresponse_x\r\nContent-Type: \
             application/http\r\nContent-ID: 0\r\n\r\nHTTP/1.1 202 Accepted\r\n\
             x-ms-request-id: r\r\n\r\n--batchresponse_x--";
        let got = answers(
            "multipart/mixed; boundary=batchresponse_x",
            response.as_bytes(),
            2,
        )
        .unwrap();
        assert_eq!(
            got[0],
            Answer {
                status: 202,
                code: None
            }
        );
        assert_eq!(got[1].status, 412);
        assert_eq!(got[1].code.as_deref(), Some("ConditionNotMet"));
        let refused = "--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 400 Bad\r\n\
             x-ms-error-code: InvalidInput\r\n\r\n--b--\r\n";
        assert_eq!(
            answers("multipart/mixed; boundary=b", refused.as_bytes(), 2),
            None
        );
    }
}
