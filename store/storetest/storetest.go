// Package storetest is the contract every twingraph store implementation must
// pass: the memory stores, Redis and PostgreSQL run the same tests, so they
// answer identically.
//
// Use it from an implementation's tests:
//
//	func TestStateStore(t *testing.T) {
//		storetest.TestStateStore(t, func(t *testing.T) twin.StateStore { return openEmptyStore(t) })
//	}
//
// open must return an empty store private to the test (a fresh namespace,
// schema or database) and register its cleanup with t.Cleanup.
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

// ctx returns a context bounded by the test's deadline, so a hung store fails
// the test instead of hanging the run.
func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return c
}

// utc returns a copy of v with every time.Time converted to UTC, so values that
// are the same instants compare equal with reflect.DeepEqual whatever zone a
// store hands them back in, and with empty slices and maps made nil.
func utc[T any](v T) T {
	rv := reflect.ValueOf(&v).Elem()
	normalize(rv)
	return v
}

var timeType = reflect.TypeOf(time.Time{})

func normalize(v reflect.Value) {
	if v.Type() == timeType {
		if v.CanSet() {
			v.Set(reflect.ValueOf(v.Interface().(time.Time).UTC()))
		}
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			c := reflect.New(v.Elem().Type()).Elem()
			c.Set(v.Elem())
			normalize(c)
			v.Set(c)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			c := reflect.New(v.Elem().Type())
			c.Elem().Set(v.Elem())
			normalize(c.Elem())
			if v.CanSet() {
				v.Set(c)
			}
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				normalize(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if v.CanSet() {
				v.SetZero() // empty and nil are the same to API users (and to JSON stores)
			}
			return
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(c, v)
		for i := range c.Len() {
			normalize(c.Index(i))
		}
		if v.CanSet() {
			v.Set(c)
		}
	case reflect.Map:
		if v.Len() == 0 {
			if v.CanSet() {
				v.SetZero()
			}
			return
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		it := v.MapRange()
		for it.Next() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(it.Value())
			normalize(e)
			c.SetMapIndex(it.Key(), e)
		}
		if v.CanSet() {
			v.Set(c)
		}
	}
}

// same fails the test unless got and want are equal up to time zones.
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	g, w := utc(got), utc(want)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.MarshalIndent(g, "", " ")
		wj, _ := json.MarshalIndent(w, "", " ")
		t.Fatalf("%s:\n got  %s\n want %s", what, gj, wj)
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := twin.ErrorCode(err); got != code {
		t.Fatalf("%s: error code %q (%v), want %q", what, got, err, code)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func ptr[T any](v T) *T { return &v }

func describe(q twin.HistoryQuery) string {
	loc := "UTC"
	if q.Location != nil {
		loc = q.Location.String()
	}
	return fmt.Sprintf("%s interval=%s agg=%s fill=%q loc=%s", q.Metric, twin.FormatDuration(q.Interval), q.Agg, q.Fill, loc)
}
