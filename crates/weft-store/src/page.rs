//! Keyset pagination: a page is read after the last key of the previous one, so pages stay
//! stable while rows are added and cost the same however deep the client goes.

/// What the client asked for. `after` is the sort key from the previous page's cursor.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    pub limit: u32,
    pub after: Option<&'a str>,
}

impl PageRequest<'_> {
    /// One row more than the page, to learn whether another page follows.
    pub(crate) fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }

    pub(crate) fn after_or_start(&self) -> &str {
        self.after.unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// The sort key of the last item, when more items follow.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// A page from up to `limit + 1` rows read in order: the extra row only says more follow.
    pub fn from_overfetch(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> String) -> Page<T> {
        let more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        let next = if more { rows.last().map(key) } else { None };
        Page { items: rows, next }
    }
}
