//! A small line diff, for messages of snapshot tests.

/// The lines that differ between `old` and `new`, as `-`/`+` lines after the
/// line number where they start, at most `max_lines` of them; `None` when the
/// texts are equal. Common leading and trailing lines are skipped; what is
/// left is aligned by longest common subsequence when it is small enough.
pub fn line_diff(old: &str, new: &str, max_lines: usize) -> Option<String> {
    if old == new {
        return None;
    }
    let old: Vec<&str> = old.lines().collect();
    let new: Vec<&str> = new.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..]
        .iter()
        .rev()
        .zip(new[prefix..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (old_mid, new_mid) = (
        &old[prefix..old.len() - suffix],
        &new[prefix..new.len() - suffix],
    );
    let mut out = vec![format!("@@ line {} @@", prefix + 1)];
    if old_mid.len().saturating_mul(new_mid.len()) <= 4_000_000 {
        // lcs[i][j]: the longest common subsequence of old_mid[i..], new_mid[j..].
        let (n, m) = (old_mid.len(), new_mid.len());
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if old_mid[i] == new_mid[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && old_mid[i] == new_mid[j] {
                out.push(format!(" {}", old_mid[i]));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                out.push(format!("-{}", old_mid[i]));
                i += 1;
            } else {
                out.push(format!("+{}", new_mid[j]));
                j += 1;
            }
        }
    } else {
        out.extend(old_mid.iter().map(|line| format!("-{line}")));
        out.extend(new_mid.iter().map(|line| format!("+{line}")));
    }
    let total = out.len();
    out.truncate(max_lines + 1);
    if total > out.len() {
        out.push(format!("... and {} more lines", total - out.len()));
    }
    Some(out.join("\n"))
}
