//! The web UI over plain HTTP: a client that keeps the cookies Weft sets and sends each form
//! with its CSRF token, for page tests that need no browser.

use std::collections::BTreeMap;

use crate::app::TestApp;

pub struct UiSession<'a> {
    app: &'a TestApp,
    /// Keeps connections alive across requests and never follows redirects, so tests see them.
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// A page as the browser would get it.
#[derive(Debug)]
pub struct PageResponse {
    pub status: u16,
    /// Where a redirect points.
    pub location: Option<String>,
    pub body: String,
}

/// The CSRF token in a page's forms.
pub fn csrf_of(html: &str) -> Option<String> {
    let at = html.find("name=\"_csrf\" value=\"")? + "name=\"_csrf\" value=\"".len();
    html[at..].split('"').next().map(str::to_owned)
}

impl<'a> UiSession<'a> {
    /// A browser that has not signed in yet.
    pub fn anonymous(app: &'a TestApp) -> Self {
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("HTTP client");
        UiSession { app, client, cookies: BTreeMap::new() }
    }

    /// Signs in through the login form.
    pub async fn sign_in(app: &'a TestApp, email: &str, password: &str) -> Self {
        let mut session = UiSession::anonymous(app);
        let signed_in = session.submit("/login", "/login", &[("email", email), ("password", password)]).await;
        assert_eq!(signed_in.status, 303, "login failed: {}", signed_in.body);
        session
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(name, value)| format!("{name}={value}")).collect::<Vec<_>>().join("; ")
    }

    fn keep_cookies(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let Some((name, rest)) = value.to_str().ok().and_then(|v| v.split_once('=')) else { continue };
            let value = rest.split(';').next().unwrap_or_default();
            if value.is_empty() || rest.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    async fn finish(&mut self, response: reqwest::Response) -> PageResponse {
        self.keep_cookies(&response);
        let status = response.status().as_u16();
        let location =
            response.headers().get(reqwest::header::LOCATION).and_then(|value| value.to_str().ok()).map(str::to_owned);
        PageResponse { status, location, body: response.text().await.expect("page body") }
    }

    /// GETs a page without following redirects.
    pub async fn get(&mut self, path: &str) -> PageResponse {
        let response = self.download(path).await;
        self.finish(response).await
    }

    /// GETs what a link points to, as the browser would, and answers the response itself: for
    /// a file, whose headers and bytes matter.
    pub async fn download(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.app.url(path))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ACCEPT, "text/html")
            .send()
            .await
            .expect("GET a page")
    }

    /// Posts a form with the token `csrf`, as given.
    pub async fn post_form(&mut self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> PageResponse {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.append_pair("_csrf", csrf);
        for (name, value) in fields {
            body.append_pair(name, value);
        }
        let response = self
            .client
            .post(self.app.url(path))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ACCEPT, "text/html")
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.finish())
            .send()
            .await
            .expect("POST a form");
        self.finish(response).await
    }

    /// Opens the page at `form_page`, takes its CSRF token, and posts `fields` to `action`.
    pub async fn submit(&mut self, form_page: &str, action: &str, fields: &[(&str, &str)]) -> PageResponse {
        let page = self.get(form_page).await;
        let csrf = csrf_of(&page.body).unwrap_or_else(|| panic!("{form_page} has no form: {}", page.body));
        self.post_form(action, &csrf, fields).await
    }
}
