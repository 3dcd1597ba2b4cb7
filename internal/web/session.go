package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"nudge/internal/store"
)

const (
	sessionCookie    = "nudge_session"
	loginCSRFCookie  = "nudge_login_csrf"
	csrfField        = "csrf"
	maxFormBytes     = 1 << 20
	sessionTouchStep = time.Minute // last_seen is written at most this often
)

type sessionKey struct{}

func sessionFrom(ctx context.Context) (store.Session, bool) {
	se, ok := ctx.Value(sessionKey{}).(store.Session)
	return se, ok
}

// randomToken returns 32 random bytes, base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // crypto/rand never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// secretEqual compares in constant time; hashing first hides the length too. An empty
// expected secret never matches.
func secretEqual(got, want string) bool {
	if want == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// secure reports whether the browser reached us over HTTPS (directly or through a proxy).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (u *UI) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secure(r),
	})
}

// currentSession returns the request's live session, deleting it when it has been idle too
// long. ok is false when there is none.
func (u *UI) currentSession(r *http.Request) (store.Session, bool, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return store.Session{}, false, nil
	}
	hash := hashSecret(c.Value)
	se, err := u.store.Session(r.Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, false, nil
	}
	if err != nil {
		return store.Session{}, false, err
	}
	now := u.now()
	if now.Sub(se.LastSeenAt) > u.idle {
		return store.Session{}, false, u.store.DeleteSession(r.Context(), hash)
	}
	if now.Sub(se.LastSeenAt) > sessionTouchStep {
		if err := u.store.TouchSession(r.Context(), hash, now); err != nil {
			return store.Session{}, false, err
		}
		se.LastSeenAt = now
	}
	return se, true, nil
}

// requireSession lets through requests of a live session, redirecting the others to the
// login page; a POST must also carry the session's CSRF token, or it is refused with 403
// before anything happens.
func (u *UI) requireSession(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		se, ok, err := u.currentSession(r)
		if err != nil {
			u.serverError(w, r, err)
			return
		}
		if !ok {
			u.setCookie(w, r, sessionCookie, "", -1)
			redirect(w, r, "/login")
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, se))
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !secretEqual(r.PostFormValue(csrfField), se.CSRFToken) {
				u.errorPage(w, r, http.StatusForbidden, "This form has expired or did not come from nudge (invalid CSRF token). Go back, reload the page and try again.")
				return
			}
		}
		next(w, r)
	})
}

type loginData struct {
	CSRF  string
	Error string
}

// loginForm shows the login page with a fresh login CSRF token, held in its own cookie
// (double submit): there is no session yet to hold it.
func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	u.showLogin(w, r, http.StatusOK, "")
}

func (u *UI) showLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	// Keep the browser's token when it has one: another tab (or a redirected request for
	// some asset) must not invalidate a login form already shown.
	token := ""
	if c, err := r.Cookie(loginCSRFCookie); err == nil && len(c.Value) == len(randomToken()) {
		token = c.Value
	} else {
		token = randomToken()
	}
	u.setCookie(w, r, loginCSRFCookie, token, 3600)
	u.render(w, r, status, "login", page{Title: "Log in", Data: loginData{CSRF: token, Error: msg}})
}

// login checks the admin token and starts a new session: a fresh id every time, and the
// session the browser had before (if any) is ended, so that a planted id is worthless.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	c, err := r.Cookie(loginCSRFCookie)
	if err != nil || !secretEqual(r.PostFormValue(csrfField), c.Value) {
		u.errorPage(w, r, http.StatusForbidden, "This form has expired or did not come from nudge (invalid CSRF token). Reload the login page and try again.")
		return
	}
	if !secretEqual(r.PostFormValue("token"), u.cfg.Server.AdminToken) {
		u.log.Warn("web: failed login")
		u.showLogin(w, r, http.StatusUnauthorized, "Wrong admin token.")
		return
	}
	ctx := r.Context()
	if old, err := r.Cookie(sessionCookie); err == nil && old.Value != "" {
		if err := u.store.DeleteSession(ctx, hashSecret(old.Value)); err != nil {
			u.serverError(w, r, err)
			return
		}
	}
	now := u.now()
	// Sweep sessions that expired, so that the table stays small.
	if err := u.store.DeleteSessionsIdleSince(ctx, now.Add(-u.idle)); err != nil {
		u.serverError(w, r, err)
		return
	}
	secret := randomToken()
	se := store.Session{IDHash: hashSecret(secret), CSRFToken: randomToken(), CreatedAt: now, LastSeenAt: now}
	if err := u.store.CreateSession(ctx, se); err != nil {
		u.serverError(w, r, err)
		return
	}
	u.setCookie(w, r, loginCSRFCookie, "", -1)
	u.setCookie(w, r, sessionCookie, secret, 0)
	u.log.Info("web: login")
	redirect(w, r, "/")
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := u.store.DeleteSession(r.Context(), hashSecret(c.Value)); err != nil {
			u.serverError(w, r, err)
			return
		}
	}
	u.setCookie(w, r, sessionCookie, "", -1)
	redirect(w, r, "/login")
}
