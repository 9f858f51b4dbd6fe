//! Checks a rule must pass beyond parsing, and pointing at the line a problem is on.

use rsigma_parser::SigmaRule;

use super::accessor::Category;

/// Our events cover Linux process, network and file activity; a rule for anything else would
/// silently never match, so it is refused with the reason.
pub fn check_logsource(rule: &SigmaRule) -> Result<(), String> {
    let ls = &rule.logsource;
    if let Some(product) = ls.product.as_deref()
        && product != "linux"
    {
        return Err(format!(
            "unsupported logsource product '{product}' (only linux)"
        ));
    }
    if let Some(service) = ls.service.as_deref() {
        return Err(format!(
            "unsupported logsource service '{service}' (the sensor has no {service} logs)"
        ));
    }
    if let Some(category) = ls.category.as_deref()
        && Category::from_sigma(category).is_none()
    {
        return Err(format!(
            "unsupported logsource category '{category}' (supported: process_creation, \
             network_connection, file_event, file_access, process_tampering)"
        ));
    }
    Ok(())
}

/// 1-based line of the first line containing `needle`.
pub fn find_line(text: &str, needle: &str) -> Option<u32> {
    if needle.is_empty() {
        return None;
    }
    text.lines()
        .position(|l| l.contains(needle))
        .and_then(|i| u32::try_from(i + 1).ok())
}

/// The line an error message most likely refers to: the first quoted name in the message that
/// occurs in the text (a modifier, a selection, a pattern), else the detection or the start.
pub fn guess_line(text: &str, message: &str) -> u32 {
    for quote in ['\'', '`', '"'] {
        for (i, part) in message.split(quote).enumerate() {
            if i % 2 == 1 {
                // A modifier is written after a pipe; look for that spelling first.
                let piped = format!("|{part}");
                if let Some(line) = find_line(text, &piped).or_else(|| find_line(text, part)) {
                    return line;
                }
            }
        }
    }
    let lower = message.to_ascii_lowercase();
    let key = if lower.contains("condition") || lower.contains("detection identifier") {
        "condition:"
    } else if lower.contains("regex") {
        "|re"
    } else {
        "detection:"
    };
    find_line(text, key).unwrap_or(1)
}
