package postgres_test

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	twin "github.com/twingraph/twingraph"
)

func TestStore_APIKeys(t *testing.T) {
	forEngines(t, func(t *testing.T, url string) {
		ctx := context.Background()
		s := MustOpen(t, url)
		key := twin.APIKey{ID: "k1", Name: "handover-screen", Scope: []string{"plant/jkt1/packaging"}, Hash: []byte{1, 2, 3}}
		t.Run("CreateAndRead", func(t *testing.T) {
			if err := s.CreateAPIKey(ctx, key); err != nil {
				t.Fatal(err)
			}
			got, err := s.APIKey(ctx, "k1")
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != key.Name || !slices.Equal(got.Scope, key.Scope) || !bytes.Equal(got.Hash, key.Hash) ||
				got.Created.IsZero() || !got.Revoked.IsZero() || !got.LastUsed.IsZero() {
				t.Fatalf("APIKey = %+v, want %+v with a creation time, never used, not revoked", got, key)
			}
		})
		t.Run("DuplicateID", func(t *testing.T) {
			if err := s.CreateAPIKey(ctx, key); twin.ErrorCode(err) != twin.EBADINPUT {
				t.Fatalf("second create = %v, want BAD_INPUT", err)
			}
		})
		t.Run("Unknown", func(t *testing.T) {
			if _, err := s.APIKey(ctx, "nope"); twin.ErrorCode(err) != twin.ENOTFOUND {
				t.Fatalf("APIKey(nope) = %v, want NOT_FOUND", err)
			}
			if err := s.RevokeAPIKey(ctx, "nope"); twin.ErrorCode(err) != twin.ENOTFOUND {
				t.Fatalf("RevokeAPIKey(nope) = %v, want NOT_FOUND", err)
			}
		})
		t.Run("Touch", func(t *testing.T) {
			at := time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
			if err := s.TouchAPIKey(ctx, "k1", at); err != nil {
				t.Fatal(err)
			}
			// An older use never moves it back.
			if err := s.TouchAPIKey(ctx, "k1", at.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			got, err := s.APIKey(ctx, "k1")
			if err != nil || !got.LastUsed.Equal(at) {
				t.Fatalf("LastUsed = %v, %v, want %v", got.LastUsed, err, at)
			}
		})
		t.Run("RevokeAndList", func(t *testing.T) {
			if err := s.CreateAPIKey(ctx, twin.APIKey{ID: "k2", Name: "all", Scope: []string{"*"}, Hash: []byte{4}}); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeAPIKey(ctx, "k1"); err != nil {
				t.Fatal(err)
			}
			first, _ := s.APIKey(ctx, "k1")
			if err := s.RevokeAPIKey(ctx, "k1"); err != nil {
				t.Fatal(err)
			}
			keys, err := s.ListAPIKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 2 || keys[0].ID != "k1" || keys[1].ID != "k2" {
				t.Fatalf("ListAPIKeys = %+v, want k1, k2", keys)
			}
			if keys[0].Revoked.IsZero() || !keys[0].Revoked.Equal(first.Revoked) {
				t.Fatalf("k1 revoked at %v, want its first revocation %v", keys[0].Revoked, first.Revoked)
			}
			if !keys[1].Revoked.IsZero() {
				t.Fatal("k2 revoked, want valid")
			}
		})
	})
}
