//! The words of product text and of search queries: split, lower-cased,
//! stopwords out, plurals stemmed. Search indexes and looks up these terms;
//! query statistics count queries by their words.

use std::collections::BTreeSet;

/// Longer words are not terms (nobody searches for them; they only bloat
/// the index).
pub const MAX_TERM_CHARS: usize = 40;

const STOPWORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "in", "is", "it", "of", "on",
    "or", "the", "to", "with",
];

/// A light English stemmer: plural endings only, so "tomatoes" and "tomato"
/// meet, "berries" and "berry" meet, and nothing surprising happens to
/// words in other languages beyond a final `s`.
pub fn stem(word: &str) -> String {
    let chars = word.chars().count();
    let strip = |suffix: &str, with: &str| format!("{}{with}", &word[..word.len() - suffix.len()]);
    if chars > 4 && word.ends_with("ies") {
        strip("ies", "y")
    } else if chars > 4 && word.ends_with("oes") {
        strip("oes", "o")
    } else if word.ends_with("sses") {
        strip("sses", "ss")
    } else if chars > 4
        && ["xes", "ches", "shes", "zes"]
            .iter()
            .any(|s| word.ends_with(s))
    {
        strip("es", "")
    } else if chars > 3
        && word.ends_with('s')
        && !["ss", "us", "sis"].iter().any(|s| word.ends_with(s))
    {
        strip("s", "")
    } else {
        word.to_owned()
    }
}

/// Words of `text`: split at anything that is not a letter or digit (in any
/// script), lower-cased, without one-letter words and stopwords.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 2 && w.chars().count() <= MAX_TERM_CHARS)
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .collect()
}

/// The search terms of `text`, stemmed, in order, without repeats.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut seen = BTreeSet::new();
    words(text)
        .iter()
        .map(|w| stem(w))
        .filter(|t| seen.insert(t.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_plurals_to_their_singular() {
        for (word, expected) in [
            ("tomatoes", "tomato"),
            ("tomato", "tomato"),
            ("berries", "berry"),
            ("boxes", "box"),
            ("peaches", "peach"),
            ("apples", "apple"),
            ("glass", "glass"),
            ("hummus", "hummus"),
            ("kiwis", "kiwi"),
            ("bus", "bus"),
            ("analysis", "analysis"),
        ] {
            assert_eq!(stem(word), expected, "{word}");
        }
    }

    #[test]
    fn tokenizes_unicode_words_lowercased_without_stopwords() {
        assert_eq!(
            tokenize("Fresh Tomatoes, from the Algarve — São Brás; tomato!"),
            vec!["fresh", "tomato", "algarve", "são", "brá"]
        );
        assert_eq!(tokenize("Äpfel und Birnen"), vec!["äpfel", "und", "birnen"]);
        assert!(tokenize("a I ! ?").is_empty());
    }
}
