package auth_test

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/twingraph/twingraph/auth/authtest"
)

// forge builds a compact JWT with the given header alg and valid claims,
// signed by sign over the signing input, so the header can lie about the
// algorithm actually used.
func forge(t *testing.T, alg string, sign func(input []byte) []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"sub": "tester", "iss": authtest.IssuerName, "aud": authtest.Audience, "exp": time.Now().Add(time.Hour).Unix(),
	})
	input := enc(header) + "." + enc(claims)
	return input + "." + enc(sign([]byte(input)))
}

func hs256(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func rs256(t *testing.T, key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return sig
	}
}

// TestVerifier_AlgMismatch: a token is verified only by a key whose
// algorithm is the one its header names; a header that lies is refused even
// when some configured key would accept the signature.
func TestVerifier_AlgMismatch(t *testing.T) {
	is := authtest.New(t)
	v := is.Verifier()
	der, err := x509.MarshalPKIXPublicKey(&is.RSA.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	t.Run("honest tokens pass", func(t *testing.T) {
		for alg, sign := range map[string]func([]byte) []byte{"HS256": hs256(is.Secret), "RS256": rs256(t, is.RSA)} {
			if _, err := v.Verify(forge(t, alg, sign)); err != nil {
				t.Errorf("%s: %v", alg, err)
			}
		}
	})
	bad := []struct {
		name  string
		token string
	}{
		{"RS256 header, HS256 signature by the secret", forge(t, "RS256", hs256(is.Secret))},
		{"HS256 header, RS256 signature", forge(t, "HS256", rs256(t, is.RSA))},
		{"ES256 header, RS256 signature", forge(t, "ES256", rs256(t, is.RSA))},
		{"RS512 header, RS256 signature", forge(t, "RS512", rs256(t, is.RSA))},
		{"HS256 signed with the RSA public key PEM", forge(t, "HS256", hs256(pubPEM))},
		{"RS256 header, HMAC with the RSA public key PEM", forge(t, "RS256", hs256(pubPEM))},
		{"lower-case alg", forge(t, "hs256", hs256(is.Secret))},
		{"no alg", forge(t, "", hs256(is.Secret))},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) { wantRefused(t, v, c.token, "") })
	}
}
