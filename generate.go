package twin

// The GraphQL layer in graph/ is generated from schema.graphqls by gqlgen (the
// version pinned in go.mod through tools.go).
//go:generate go run github.com/99designs/gqlgen generate
