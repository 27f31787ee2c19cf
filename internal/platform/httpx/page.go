package httpx

import (
	"encoding/base64"
	"strings"

	"github.com/nimbuscommerce/nimbus"
)

// Page sizes for every list endpoint.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// PageParams are the query parameters of every list endpoint. Lists are
// ordered by id, and ids sort by creation time, so a cursor (the last id
// seen) stays valid and skips nothing when rows are inserted meanwhile.
type PageParams struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"200" default:"50" doc:"Page size."`
	Cursor string `query:"cursor" maxLength:"200" doc:"The next_cursor of the previous page."`
}

// After decodes the cursor into the id to continue after ("" for the first page).
func (p PageParams) After() (string, error) {
	if p.Cursor == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	id, ok := strings.CutPrefix(string(b), "after:")
	if err != nil || !ok || id == "" {
		return "", nimbus.Invalid(nimbus.FieldError{Field: "query.cursor", Message: "is not a cursor this API returned"})
	}
	return id, nil
}

// Size returns the page size, defaulted and capped.
func (p PageParams) Size() int {
	if p.Limit <= 0 {
		return DefaultPageSize
	}
	return min(p.Limit, MaxPageSize)
}

// Page is one page of a list.
type Page[T any] struct {
	Data       []T    `json:"data" nullable:"false"`
	HasMore    bool   `json:"has_more" doc:"Whether another page follows."`
	NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor to get the next page."`
}

// NewPage builds a page from up to size+1 items fetched in id order: the
// extra item only tells that more follow. id returns an item's id.
func NewPage[T any](items []T, size int, id func(T) string) Page[T] {
	p := Page[T]{Data: items}
	if p.Data == nil {
		p.Data = []T{}
	}
	if len(items) > size {
		p.Data = items[:size]
		p.HasMore = true
		p.NextCursor = base64.RawURLEncoding.EncodeToString([]byte("after:" + id(items[size-1])))
	}
	return p
}

// List runs a list endpoint: decode the cursor, find up to a page and one
// more, render each item, and cut the page. find gets the id to continue
// after and the page size; view turns an item into its wire form.
func List[T, V any](p PageParams, find func(after string, limit int) ([]T, error), view func(T) V, id func(V) string) (Page[V], error) {
	after, err := p.After()
	if err != nil {
		return Page[V]{}, err
	}
	items, err := find(after, p.Size())
	if err != nil {
		return Page[V]{}, err
	}
	views := make([]V, len(items))
	for i, it := range items {
		views[i] = view(it)
	}
	return NewPage(views, p.Size(), id), nil
}
