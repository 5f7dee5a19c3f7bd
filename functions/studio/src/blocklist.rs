//! The prompt blocklist: checked before any provider is called.
//!
//! Text is normalised first (lower case, accents dropped, look-alike
//! letters and digits folded: `Ⅴ1ölence`, `vi0lence` and `vіolence` with a
//! Cyrillic `і` all read `violence`), then split into tokens on anything
//! that is not a letter or digit. Terms match whole tokens or runs of whole
//! tokens, so "therapist" never matches "rapist" (token-bounded), and
//! spaced-out letters ("k i l l") are joined back before matching.

/// Why a prompt was refused: the category is what the API names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub category: &'static str,
}

/// Terms per category; each term is one or more normalised tokens.
const TERMS: &[(&str, &[&str])] = &[
    (
        "violence",
        &[
            "gore",
            "behead",
            "beheading",
            "massacre",
            "bloodbath",
            "mutilated",
            "dismembered",
            "kill",
            "killing",
        ],
    ),
    (
        "hate",
        &["nazi", "swastika", "white power", "kkk", "ethnic cleansing"],
    ),
    (
        "sexual",
        &[
            "nude",
            "naked",
            "porn",
            "pornographic",
            "nsfw",
            "explicit sex",
            "rapist",
        ],
    ),
    ("self-harm", &["self harm", "suicide", "selfharm"]),
    (
        "trademark",
        &[
            "nike swoosh",
            "gucci logo",
            "louis vuitton",
            "disney",
            "mickey mouse",
        ],
    ),
];

/// Folds one character: accents dropped, look-alikes to the Latin letter
/// they imitate. Characters that are not letters or digits become a space.
fn fold(c: char) -> Option<char> {
    let lower = c.to_lowercase().next().unwrap_or(c);
    let folded = match lower {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' | 'а' | 'α' | '4' | '@' => {
            'a'
        }
        'ç' | 'ć' | 'č' | 'с' | 'ϲ' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ė' | 'ę' | 'ě' | 'е' | 'ε' | '3' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' | 'į' | 'ı' | 'і' | 'ι' | '1' | '!' | '|' => 'i',
        'ñ' | 'ń' | 'ň' | 'η' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'о' | 'ο' | '0' => 'o',
        'ŕ' | 'ř' | 'г' => 'r',
        'ś' | 'š' | 'ş' | 'ѕ' | '5' | '$' => 's',
        'ť' | 'ţ' | 'т' | 'τ' | '7' | '+' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' | 'ů' | 'ű' | 'υ' => 'u',
        'ý' | 'ÿ' | 'у' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        'р' | 'ρ' => 'p',
        'х' | 'χ' => 'x',
        'к' | 'κ' => 'k',
        'м' => 'm',
        'в' => 'b',
        'ⅰ' => 'i',
        'ⅴ' => 'v',
        'ⅹ' => 'x',
        'ß' => 's',
        c if c.is_ascii_alphanumeric() => c,
        _ => return None,
    };
    Some(folded)
}

/// The normalised tokens of `text`.
pub fn tokens(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut current = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        // Symbols stand for letters only inside a word ("k!ll", not "hi!").
        let symbol = !c.is_alphanumeric();
        let next_is_letter = chars.get(i + 1).is_some_and(|n| n.is_alphanumeric());
        let folded = if symbol && !next_is_letter {
            None
        } else {
            fold(c)
        };
        match folded {
            Some(f) => current.push(f),
            None => {
                if !current.is_empty() {
                    tokens.push(std::mem::take(&mut current));
                }
            }
        }
    }
    if !current.is_empty() {
        tokens.push(current);
    }
    join_spelled_out(tokens)
}

/// "k i l l" → "kill": runs of three or more one-letter tokens are joined
/// (and kept as they were too, so "a b c" still reads as three words).
fn join_spelled_out(tokens: Vec<String>) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut run = String::new();
    let mut run_len = 0;
    for token in tokens {
        if token.chars().count() == 1 {
            run.push_str(&token);
            run_len += 1;
            out.push(token);
            continue;
        }
        if run_len >= 3 {
            out.push(std::mem::take(&mut run));
        }
        run.clear();
        run_len = 0;
        out.push(token);
    }
    if run_len >= 3 {
        out.push(run);
    }
    out
}

/// The first category whose term `texts` contain, token-bounded.
pub fn check<'a>(texts: impl IntoIterator<Item = &'a str>) -> Option<Blocked> {
    for text in texts {
        let tokens = tokens(text);
        for (category, terms) in TERMS {
            for term in *terms {
                let needle: Vec<&str> = term.split(' ').collect();
                if tokens
                    .windows(needle.len())
                    .any(|window| window.iter().map(String::as_str).eq(needle.iter().copied()))
                {
                    return Some(Blocked { category });
                }
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(text: &str) -> Option<&'static str> {
        check([text]).map(|b| b.category)
    }

    #[test]
    fn clean_prompts_pass() {
        assert_eq!(category("A floral summer dress in soft pastel tones"), None);
        assert_eq!(category("Therapist-approved calm linen shirt"), None);
        assert_eq!(category("skill and killer whales"), None);
    }

    #[test]
    fn matches_whole_tokens_only() {
        assert_eq!(category("a shirt with gore on it"), Some("violence"));
        assert_eq!(category("gorgeous gorget"), None);
    }

    #[test]
    fn folds_case_accents_and_look_alikes() {
        assert_eq!(category("GORE"), Some("violence"));
        assert_eq!(category("g0r3 everywhere"), Some("violence"));
        assert_eq!(category("nüde beach"), Some("sexual"));
        // Cyrillic а and е in "nаzі"
        assert_eq!(category("n\u{0430}z\u{0456} eagle"), Some("hate"));
        assert_eq!(category("N-A-Z-I"), Some("hate"));
    }

    #[test]
    fn multi_word_terms_match_across_punctuation() {
        assert_eq!(category("white   power!!"), Some("hate"));
        assert_eq!(category("k!ll"), Some("violence"));
        assert_eq!(category("self-harm awareness"), Some("self-harm"));
        assert_eq!(category("white powder"), None);
    }

    #[test]
    fn spelled_out_letters_are_joined() {
        assert_eq!(category("k i l l them all"), Some("violence"));
        assert_eq!(category("a b c"), None);
    }
}
