package twin

import (
	"errors"
	"fmt"
)

// Error codes: stable strings that reach API users as extensions.code (GraphQL)
// or the error body (REST).
const (
	ENOTFOUND  = "NOT_FOUND" // the asset (or other object) does not exist
	EBADINPUT  = "BAD_INPUT" // the request or telemetry is malformed
	EFORBIDDEN = "FORBIDDEN" // the caller may not do this
	ELIMIT     = "LIMIT"     // the request asks for more than a bound allows
	// EUNAVAILABLE: a store did not answer within its deadline; retrying later may work.
	EUNAVAILABLE = "UNAVAILABLE"
	EINTERNAL    = "INTERNAL" // anything else; logged with its cause
)

// Error is twingraph's application error: a code and a message fit for users.
type Error struct {
	// Code is one of the E* codes.
	Code string
	// Message is safe to show to API users.
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error in err's chain, INTERNAL for any other
// error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of an *Error in err's chain, or
// "internal error" for any other error (whose text may leak internals).
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
