package service

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/miniship/miniship"
	"github.com/miniship/miniship/wxcrypt"
	"github.com/miniship/miniship/wxerr"
)

// Service categories (getallcategories, getcategory, addcategory,
// deletecategory, modifycategory) and their qualification review.

// categoriesJSON is the built-in category tree, in getallcategories' shape:
// a realistic subset of WeChat's (levels 1 and 2, id 0 the root), with the
// qualifications of the categories that need review (sensitive_type 1).
//
//go:embed data/categories.json
var categoriesJSON []byte

// CategoryNode is a node of the category tree.
type CategoryNode struct {
	ID            int64   `json:"id"`
	Name          string  `json:"name"`
	Level         int     `json:"level"`
	Father        int64   `json:"father"`
	Children      []int64 `json:"children"`
	SensitiveType int     `json:"sensitive_type"`
	Qualify       struct {
		ExterList []struct {
			InnerList []struct {
				Name string `json:"name"`
				URL  string `json:"url"`
			} `json:"inner_list"`
		} `json:"exter_list"`
		Remark string `json:"remark"`
	} `json:"qualify"`
}

var categoryTree = sync.OnceValue(func() map[int64]*CategoryNode {
	var doc struct {
		List struct {
			Categories []*CategoryNode `json:"categories"`
		} `json:"categories_list"`
	}
	if err := json.Unmarshal(categoriesJSON, &doc); err != nil {
		panic("miniship: data/categories.json: " + err.Error())
	}
	m := make(map[int64]*CategoryNode, len(doc.List.Categories))
	for _, c := range doc.List.Categories {
		m[c.ID] = c
	}
	return m
})

// AllCategories is the answer of getallcategories, verbatim.
func AllCategories() json.RawMessage { return categoriesJSON }

// Subject types of getcategoriesbytype's verify_type: 0 personal, 1
// enterprise, 2 government, 3 media, 4 other.
const (
	VerifyPersonal = 0
	VerifyOther    = 4
)

// CategoriesByType is the answer of getcategoriesbytype. miniship models
// no subject types (it never answers 53302), so every valid verify_type
// gets the whole tree; an unknown one is 53303.
func CategoriesByType(verifyType int64) (json.RawMessage, error) {
	if verifyType < VerifyPersonal || verifyType > VerifyOther {
		return nil, wxerr.Errorf(wxerr.CategoryInvalidParams, "verify_type %d: want 0 to 4", verifyType)
	}
	return categoriesJSON, nil
}

// lookupCategory finds a second-level category under its first level.
func lookupCategory(first, second int64) (f, s *CategoryNode, ok bool) {
	t := categoryTree()
	f, s = t[first], t[second]
	if f == nil || s == nil || f.Level != 1 || s.Level != 2 || s.Father != first {
		return nil, nil, false
	}
	return f, s, true
}

// Category review statuses as getcategory answers them.
const (
	categoryReviewing = 1
	categoryRejected  = 2
	categoryApproved  = 3
)

// CategoryItem is an entry of getcategory.
type CategoryItem struct {
	First       int64  `json:"first"`
	FirstName   string `json:"first_name"`
	Second      int64  `json:"second"`
	SecondName  string `json:"second_name"`
	AuditStatus int    `json:"audit_status"`
	AuditReason string `json:"audit_reason"`
}

// CategoryList is the answer of getcategory.
type CategoryList struct {
	Categories    []CategoryItem `json:"categories"`
	Limit         int            `json:"limit"`
	Quota         int            `json:"quota"`
	CategoryLimit int            `json:"category_limit"`
}

func (s *Service) categoryCounter(appid string) string { return "catadd:" + appid + ":" + s.month() }

// GetCategories lists the mini program's categories: the approved ones (its
// grant, however it was set) and those in review or rejected.
func (s *Service) GetCategories(ctx context.Context, c *Caller) (*CategoryList, error) {
	res := &CategoryList{Categories: []CategoryItem{}, Limit: s.cfg.CategoryPerMonth, CategoryLimit: s.cfg.CategoryMax}
	err := s.view(ctx, func(tx miniship.Tx) error {
		a, err := tx.GetAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		for _, cat := range a.Categories {
			res.Categories = append(res.Categories, CategoryItem{cat.FirstID, cat.FirstClass, cat.SecondID, cat.SecondClass, categoryApproved, ""})
		}
		apps, err := tx.ListCategoryApplications(a.AppID, 0, 0)
		if err != nil {
			return err
		}
		for _, p := range apps {
			if p.Status == miniship.ApplyApproved {
				continue // listed from the grant
			}
			f, sc, _ := lookupCategory(p.First, p.Second)
			it := CategoryItem{First: p.First, Second: p.Second, AuditStatus: categoryReviewing, AuditReason: p.Reason}
			if f != nil {
				it.FirstName, it.SecondName = f.Name, sc.Name
			}
			if p.Status == miniship.ApplyRejected {
				it.AuditStatus = categoryRejected
			}
			res.Categories = append(res.Categories, it)
		}
		used, err := tx.GetCounter(s.categoryCounter(a.AppID))
		if err != nil && !errors.Is(err, miniship.ErrNotFound) {
			return err
		}
		res.Quota = max(0, s.cfg.CategoryPerMonth-used)
		return nil
	})
	return res, err
}

// AddCategory is an entry of addcategory's categories.
type AddCategory struct {
	First        int64
	Second       int64
	Certificates []miniship.Certificate
}

func validCertificates(i int, certs []miniship.Certificate) error {
	for j, c := range certs {
		if c.Key == "" || c.Value == "" {
			return wxerr.Errorf(wxerr.CategoryInvalidParams, "categories[%d].certicates[%d] needs key and value", i, j)
		}
	}
	return nil
}

// AddCategories adds categories. One that needs no qualification is
// approved at once; one that does (sensitive_type 1) needs certicates
// (53311) and waits for review. Each addition spends the monthly quota
// (53300); the total is capped (53301). All or nothing.
func (s *Service) AddCategories(ctx context.Context, c *Caller, cats []AddCategory) error {
	if len(cats) == 0 {
		return wxerr.New(wxerr.CategoryInvalidParams, "categories is empty")
	}
	for i, cat := range cats {
		_, sc, ok := lookupCategory(cat.First, cat.Second)
		if !ok {
			return wxerr.Errorf(wxerr.CategoryInvalidParams, "categories[%d]: %d/%d is not a category (see getallcategories)", i, cat.First, cat.Second)
		}
		if sc.SensitiveType == 1 && len(cat.Certificates) == 0 {
			return wxerr.Errorf(wxerr.CategoryNeedMaterial, "categories[%d]: %s needs its qualifications in certicates", i, sc.Name)
		}
		if err := validCertificates(i, cat.Certificates); err != nil {
			return err
		}
		for _, prev := range cats[:i] {
			if prev.First == cat.First && prev.Second == cat.Second {
				return wxerr.Errorf(wxerr.CategoryDuplicate, "categories[%d] repeats %d/%d", i, cat.First, cat.Second)
			}
		}
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		apps, err := tx.ListCategoryApplications(a.AppID, 0, 0)
		if err != nil {
			return err
		}
		total := len(a.Categories)
		for _, p := range apps {
			if p.Status != miniship.ApplyApproved {
				total++
			}
		}
		for i, cat := range cats {
			has := slices.ContainsFunc(a.Categories, func(x miniship.Category) bool { return x.FirstID == cat.First && x.SecondID == cat.Second }) ||
				slices.ContainsFunc(apps, func(p *miniship.CategoryApplication) bool { return p.First == cat.First && p.Second == cat.Second })
			if has {
				return wxerr.Errorf(wxerr.CategoryDuplicate, "categories[%d]: %d/%d is already a category of the mini program", i, cat.First, cat.Second)
			}
		}
		if total+len(cats) > s.cfg.CategoryMax {
			return wxerr.Errorf(wxerr.CategoryTotalLimit, "%d categories and %d more, at most %d", total, len(cats), s.cfg.CategoryMax)
		}
		n, err := tx.AddCounter(s.categoryCounter(a.AppID), len(cats))
		if err != nil {
			return err
		}
		if n > s.cfg.CategoryPerMonth {
			return wxerr.Errorf(wxerr.CategoryMonthlyLimit, "%d additions this month, at most %d", n, s.cfg.CategoryPerMonth)
		}
		now := s.Now()
		for _, cat := range cats {
			f, sc, _ := lookupCategory(cat.First, cat.Second)
			p := &miniship.CategoryApplication{AuthorizerAppID: a.AppID, PlatformAppID: c.PlatformAppID, First: cat.First,
				Second: cat.Second, Status: miniship.ApplyPending, Certificates: cat.Certificates, AppliedAt: now}
			if sc.SensitiveType == 0 {
				p.Status, p.DecidedAt = miniship.ApplyApproved, now
				a.Categories = append(a.Categories, miniship.Category{FirstClass: f.Name, SecondClass: sc.Name, FirstID: f.ID, SecondID: sc.ID})
			}
			if err := tx.PutCategoryApplication(p); err != nil {
				return err
			}
		}
		return tx.UpdateAuthorizer(a)
	})
}

// DeleteCategory removes a category; one in review cannot go (53308).
func (s *Service) DeleteCategory(ctx context.Context, c *Caller, first, second int64) error {
	return s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		p, err := tx.GetCategoryApplication(a.AppID, first, second)
		switch {
		case err == nil && p.Status == miniship.ApplyPending:
			return wxerr.Errorf(wxerr.CategoryDeleteAuditing, "%d/%d", first, second)
		case err == nil:
			if err := tx.DeleteCategoryApplication(a.AppID, first, second); err != nil {
				return err
			}
		case !errors.Is(err, miniship.ErrNotFound):
			return err
		}
		i := slices.IndexFunc(a.Categories, func(x miniship.Category) bool { return x.FirstID == first && x.SecondID == second })
		if i < 0 && p == nil {
			return wxerr.Errorf(wxerr.CategoryInvalidParams, "%d/%d is not a category of the mini program", first, second)
		}
		if i >= 0 {
			a.Categories = slices.Delete(a.Categories, i, i+1)
			return tx.UpdateAuthorizer(a)
		}
		return nil
	})
}

// ModifyCategory replaces the qualifications of a rejected category and
// sends it back to review. Other categories are 53307; ids the mini
// program does not have are 53306 (modify changes qualifications, not ids).
func (s *Service) ModifyCategory(ctx context.Context, c *Caller, cat AddCategory) error {
	if len(cat.Certificates) == 0 {
		return wxerr.New(wxerr.CategoryNeedMaterial, "certicates is empty")
	}
	if err := validCertificates(0, cat.Certificates); err != nil {
		return err
	}
	return s.update(ctx, func(tx miniship.Tx) error {
		a, err := tx.LockAuthorizer(c.AuthorizerAppID)
		if err != nil {
			return err
		}
		p, err := tx.GetCategoryApplication(a.AppID, cat.First, cat.Second)
		if errors.Is(err, miniship.ErrNotFound) {
			if slices.ContainsFunc(a.Categories, func(x miniship.Category) bool { return x.FirstID == cat.First && x.SecondID == cat.Second }) {
				return wxerr.New(wxerr.CategoryModifyNotFailed, "the category is approved")
			}
			return wxerr.Errorf(wxerr.CategoryModifyIDs, "%d/%d is not a category of the mini program", cat.First, cat.Second)
		}
		if err != nil {
			return err
		}
		if p.Status != miniship.ApplyRejected {
			return wxerr.Errorf(wxerr.CategoryModifyNotFailed, "the category has audit_status %d", map[int]int{miniship.ApplyPending: categoryReviewing, miniship.ApplyApproved: categoryApproved}[p.Status])
		}
		p.Status, p.Reason, p.Certificates, p.AppliedAt, p.DecidedAt = miniship.ApplyPending, "", cat.Certificates, s.Now(), time.Time{}
		return tx.PutCategoryApplication(p)
	})
}

// DecideCategory applies the reviewer's verdict on a category in review:
// approval adds it to the mini program's categories (what get_category
// lists and submit_audit accepts); either way wxa_category_audit is pushed.
func (s *Service) DecideCategory(ctx context.Context, appid string, first, second int64, d GrantDecision) (*miniship.CategoryApplication, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	var out *miniship.CategoryApplication
	err := s.update(ctx, func(tx miniship.Tx) error {
		m, err := tx.LockAuthorizer(appid)
		if err != nil {
			return fmt.Errorf("authorizer %s: %w", appid, err)
		}
		p, err := tx.GetCategoryApplication(appid, first, second)
		if err != nil {
			return fmt.Errorf("category %d/%d of %s: %w", first, second, appid, err)
		}
		if p.Status != miniship.ApplyPending {
			return errNotPending(fmt.Sprintf("category %d/%d of %s", first, second, appid), p.Status)
		}
		now := s.Now()
		p.DecidedAt = now
		ret := wxcrypt.PushApproved
		if d.Result == DecisionApprove {
			p.Status, p.Reason = miniship.ApplyApproved, ""
			f, sc, ok := lookupCategory(first, second)
			if !ok {
				return fmt.Errorf("category %d/%d left the tree", first, second)
			}
			m.Categories = append(m.Categories, miniship.Category{FirstClass: f.Name, SecondClass: sc.Name, FirstID: first, SecondID: second})
			if err := tx.UpdateAuthorizer(m); err != nil {
				return err
			}
		} else {
			p.Status, p.Reason, ret = miniship.ApplyRejected, orDefault(d.Reason, "资质材料不符合要求"), wxcrypt.PushRejected
		}
		if err := tx.PutCategoryApplication(p); err != nil {
			return err
		}
		out = p
		return s.grantPush(tx, p.PlatformAppID, m, wxcrypt.EventCategoryAudit, &wxcrypt.CategoryAuditEvent{
			ToUserName: wxcrypt.CDATA(m.OriginalID), FromUserName: systemOpenID, CreateTime: now.Unix(),
			MsgType: wxcrypt.MsgTypeEvent, Event: wxcrypt.EventCategoryAudit,
			First: first, Second: second, Ret: ret, Reason: wxcrypt.CDATA(p.Reason),
		})
	})
	return out, err
}

// categoryRefusal is submit_audit's answer for an item that names none of
// the approved categories: 85077 when it names one of the mini program's
// categories whose review failed, else 85008 (with the reason when the
// category is still in review).
func categoryRefusal(tx miniship.Tx, appid string, i int, it AuditItem) error {
	apps, err := tx.ListCategoryApplications(appid, 0, 0)
	if err != nil {
		return err
	}
	for _, p := range apps {
		f, sc, ok := lookupCategory(p.First, p.Second)
		if !ok || !categoryMatches(it, miniship.Category{FirstClass: f.Name, SecondClass: sc.Name, FirstID: f.ID, SecondID: sc.ID}) {
			continue
		}
		switch p.Status {
		case miniship.ApplyRejected:
			return wxerr.Errorf(wxerr.CategoryInvalid, "item_list[%d]: the review of %s failed (audit_status 2)", i, categoryName(it))
		case miniship.ApplyPending:
			return wxerr.Errorf(wxerr.InvalidCategory, "item_list[%d]: %s is in qualification review (audit_status 1), not approved", i, categoryName(it))
		}
	}
	return wxerr.Errorf(wxerr.InvalidCategory, "item_list[%d]: %s is not a category of the mini program", i, categoryName(it))
}
