package hierarchy

// inherited is a setting's value and the asset that declares it.
type inherited[T any] struct {
	v    T
	from string
}

// inherit resolves a setting assets inherit from their parents and returns
// every asset's value by id. An asset that declares the setting (own reports
// true) keeps its own value; any other takes the value its parents lead to.
// A value equal to T's zero value is none and passes nothing on. When two
// parents lead to values that are not equal, conflict is called with the
// first and the other, and the first stays.
func inherit[T any](l *loader, own func(*assetDecl) (T, bool), equal func(a, b T) bool, conflict func(ad *assetDecl, first, other inherited[T])) map[string]T {
	var zero T
	eff := make(map[string]inherited[T], len(l.order))
	var get func(ad *assetDecl) inherited[T]
	get = func(ad *assetDecl) inherited[T] {
		if c, ok := eff[ad.a.ID]; ok {
			return c
		}
		var c inherited[T]
		if v, ok := own(ad); ok {
			c = inherited[T]{v, ad.a.ID}
		} else {
			for _, p := range ad.a.Parents {
				pd, ok := l.assets[p]
				if !ok {
					continue
				}
				pc := get(pd)
				switch {
				case equal(pc.v, zero):
				case equal(c.v, zero):
					c = pc
				case !equal(c.v, pc.v):
					conflict(ad, c, pc)
				}
			}
		}
		eff[ad.a.ID] = c
		return c
	}
	out := make(map[string]T, len(l.order))
	for _, ad := range l.order {
		out[ad.a.ID] = get(ad).v
	}
	return out
}
