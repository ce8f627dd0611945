package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Store keeps in memory the drafts it loaded or saved, so that a change to
// one declaration reads and writes only what changed: [Store.Load] answers
// from memory while the folder is as the store left it, and [Store.Save]
// writes the files of the declarations that differ from it (and the spec
// when it differs), each atomically, as [Pipeline.Save] does. The bodies'
// scans are remembered too, so building the graph of a kept draft does not
// scan every body again.
//
// "As the store left it" is read from the spec file's and the
// transformations folder's metadata (size, modification time, inode):
// adding, removing or renaming a file, or any change to the spec, sends the
// next Load to the disk. A file edited in place, without a rename, is seen
// by the next full [Load] (a restarted server, a folder the store does not
// keep); what runs is always rendered from the model, never read back from
// such a file.
//
// A Store is safe for concurrent use; like Pipeline.Save it assumes one
// writer per folder (callers serialize the changes to a folder).
type Store struct {
	mu     sync.Mutex
	drafts map[string]*keptDraft // by folder
}

// keptDraft is a draft as the store last saw it on disk.
type keptDraft struct {
	p     *Pipeline // a private copy, never handed out
	stamp folderStamp
}

// folderStamp is what says a folder is unchanged.
type folderStamp struct {
	spec, transformations fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
	ino   uint64
	ok    bool
}

// maxKeptDrafts bounds the drafts a store keeps.
const maxKeptDrafts = 256

// NewStore returns an empty store.
func NewStore() *Store { return &Store{drafts: map[string]*keptDraft{}} }

// Load returns the draft in dir, as [Load] reads it.
func (s *Store) Load(dir string) (*Pipeline, error) {
	st, err := stampOf(dir)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	k := s.drafts[dir]
	s.mu.Unlock()
	if k != nil && k.stamp == st {
		return k.p.Clone(), nil
	}
	p, err := Load(dir)
	if err != nil {
		s.forget(dir)
		return nil, err
	}
	// The stamp taken before reading: a change made while reading sends
	// the next Load to the disk again.
	s.keep(dir, p, st)
	return p, nil
}

// Save writes p to dir. When the store keeps the folder's draft and the
// folder is unchanged, only the declarations that differ are written (and
// the files of removed ones deleted); otherwise the whole folder is saved
// with [Pipeline.Save].
func (s *Store) Save(p *Pipeline, dir string) error {
	st, err := stampOf(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	k := s.drafts[dir]
	s.mu.Unlock()
	if err != nil { // a new folder
		k = nil
	}
	if k == nil || k.stamp != st || !st.transformations.ok {
		s.forget(dir)
		if err := p.Save(dir); err != nil {
			return err
		}
	} else if err := saveChanged(k.p, p, dir); err != nil {
		s.forget(dir)
		return err
	}
	st, err = stampOf(dir)
	if err != nil {
		s.forget(dir)
		return err
	}
	s.keep(dir, p, st)
	return nil
}

// Forget drops what the store keeps about dir (a folder removed or
// written by other means).
func (s *Store) Forget(dir string) { s.forget(dir) }

func (s *Store) forget(dir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.drafts, dir)
}

func (s *Store) keep(dir string, p *Pipeline, st folderStamp) {
	kept := p.Clone()
	if p.scans == nil {
		p.scans = newScanMemo(4*(len(p.Datasets)+len(p.Flows)) + 64)
	}
	kept.scans = p.scans
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.drafts) >= maxKeptDrafts {
		clear(s.drafts)
	}
	s.drafts[dir] = &keptDraft{p: kept, stamp: st}
}

// stampOf reads the stamp of the folder dir; a missing spec file is an
// error wrapping fs.ErrNotExist, as Load reports it.
func stampOf(dir string) (folderStamp, error) {
	spec, err := statStamp(filepath.Join(dir, SpecFile))
	if err != nil {
		return folderStamp{}, fmt.Errorf("reading the pipeline folder: %w", err)
	}
	tr, err := statStamp(filepath.Join(dir, TransformationsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return folderStamp{}, fmt.Errorf("reading the pipeline folder: %w", err)
	}
	return folderStamp{spec: spec, transformations: tr}, nil
}

func statStamp(path string) (fileStamp, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi), ok: true}, nil
}

// saveChanged writes what differs between old (the folder's content) and p:
// the files of changed and new declarations (a flow's file also when its
// target changed), the spec when it changed; then deletes the files of
// removed declarations. New files are written before old ones are deleted,
// so a crash leaves every file whole, as with Pipeline.Save.
func saveChanged(old, p *Pipeline, dir string) error {
	changed := map[string]bool{}
	oldDatasets := make(map[string]Dataset, len(old.Datasets))
	for _, d := range old.Datasets {
		oldDatasets[d.Name] = d
	}
	for _, d := range p.Datasets {
		if o, ok := oldDatasets[d.Name]; !ok || !sameDataset(o, d) || old.TableFormat != p.TableFormat {
			changed[d.Name] = true
		}
	}
	oldFlows := make(map[string]Flow, len(old.Flows))
	for _, f := range old.Flows {
		oldFlows[f.Name] = f
	}
	for _, f := range p.Flows {
		if o, ok := oldFlows[f.Name]; !ok || !sameFlow(o, f) || changed[f.Target] {
			changed[f.Name] = true
		}
	}
	if err := p.validate(changed); err != nil {
		return err
	}
	var files []File
	if !sameSpec(old, p) {
		spec, err := specFile(p)
		if err != nil {
			return err
		}
		files = append(files, File{Path: SpecFile, Content: spec})
	}
	for _, d := range p.Datasets {
		if changed[d.Name] {
			data, err := datasetFile(d, p.TableFormat)
			if err != nil {
				return err
			}
			files = append(files, File{Path: TransformationPath(d.Name), Content: data})
		}
	}
	for _, f := range p.Flows {
		if changed[f.Name] {
			target, _ := p.Dataset(f.Target)
			data, err := flowFile(f, target)
			if err != nil {
				return err
			}
			files = append(files, File{Path: TransformationPath(f.Name), Content: data})
		}
	}
	for _, f := range files {
		if err := writeAtomic(tmpDir(dir), filepath.Join(dir, filepath.FromSlash(f.Path)), f.Content); err != nil {
			return err
		}
	}
	keep := map[string]bool{}
	for _, d := range p.Datasets {
		keep[d.Name] = true
	}
	for _, f := range p.Flows {
		keep[f.Name] = true
	}
	for name := range oldDatasets {
		if !keep[name] {
			if err := removeDurably(filepath.Join(dir, filepath.FromSlash(TransformationPath(name)))); err != nil {
				return err
			}
		}
	}
	for name := range oldFlows {
		if !keep[name] {
			if err := removeDurably(filepath.Join(dir, filepath.FromSlash(TransformationPath(name)))); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameSpec(a, b *Pipeline) bool {
	return a.Name == b.Name && a.Storage == b.Storage && a.Catalog == b.Catalog && a.Database == b.Database &&
		maps.Equal(a.Configuration, b.Configuration)
}

func sameDataset(a, b Dataset) bool {
	return a.Name == b.Name && a.Kind == b.Kind && a.Query == b.Query && a.Comment == b.Comment && a.Schema == b.Schema &&
		slices.Equal(a.PartitionBy, b.PartitionBy) && slices.Equal(a.ClusterBy, b.ClusterBy) &&
		maps.Equal(a.TableProperties, b.TableProperties) && slices.Equal(a.Expectations, b.Expectations)
}

func sameFlow(a, b Flow) bool { return a == b }
