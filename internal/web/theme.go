package web

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// overlayFS serves each file from top when top has it, else from base: a
// theme directory replaces some of the storefront's templates and static
// files and keeps the rest.
type overlayFS struct{ top, base fs.FS }

func (o overlayFS) Open(name string) (fs.File, error) {
	if o.top != nil {
		f, err := o.top.Open(name)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return o.base.Open(name)
}

// themeFS returns the storefront's files with those of dir laid over them.
// dir mirrors internal/web: templates/*.html and static/*. A theme may only
// replace files Nimbus has, so that a typo shows at start-up rather than as
// a page that silently keeps the default look.
func themeFS(dir string) (fs.FS, error) {
	var embedded fs.FS = builtin{}
	if dir == "" {
		return embedded, nil
	}
	top := os.DirFS(dir)
	err := fs.WalkDir(top, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		hidden := name != "." && path.Base(name)[0] == '.' // .git/, .DS_Store, editor swap files
		if d.IsDir() {
			if hidden {
				return fs.SkipDir
			}
			return nil
		}
		if hidden {
			return nil
		}
		if _, err := fs.Stat(embedded, name); err != nil {
			return fmt.Errorf("theme file %s replaces nothing: a theme holds templates/<page>.html and static/<file> of the built-in theme", name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("theme %s: %w", dir, err)
	}
	return overlayFS{top: top, base: embedded}, nil
}

// builtin is the embedded theme: the templates and the static files.
type builtin struct{}

func (builtin) Open(name string) (fs.File, error) {
	if f, err := templateFS.Open(name); err == nil {
		return f, nil
	}
	return staticFS.Open(name)
}
