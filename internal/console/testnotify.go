package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/pollhook/pollhook/internal/delivery"
	"github.com/pollhook/pollhook/internal/store"
)

// callbackTest sends a signed sample notification to the instance's
// callback, out of band, and shows the receiver's answer.
func (c *Console) callbackTest(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := c.instanceID(r)
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	td, err := c.cfg.Tester.Test(r.Context(), v.caller.Org.ID, id)
	var refused *delivery.TestRefusedError
	switch {
	case errors.As(err, &refused):
		c.failPage(w, r, v, http.StatusConflict, refused.Reason)
		return
	case err != nil:
		c.fail(w, r, v, err)
		return
	}
	http.Redirect(w, r, "/instances/"+strconv.FormatInt(id, 10)+"/callback-tests/"+strconv.FormatInt(td.ID, 10), http.StatusSeeOther)
}

type testData struct {
	Test *store.TestDelivery
	Body string // exactly as sent: the bytes that were signed
}

// callbackTestResult shows a test delivery's record: what was sent, and
// what the receiver answered.
func (c *Console) callbackTestResult(w http.ResponseWriter, r *http.Request, v *viewer) {
	id, err := c.instanceID(r)
	testID, perr := strconv.ParseInt(r.PathValue("testId"), 10, 64)
	var td *store.TestDelivery
	if err == nil && perr == nil {
		td, err = c.cfg.Store.TestDeliveryByID(r.Context(), v.caller.Org.ID, testID)
	}
	if err == nil && (perr != nil || td.InstanceID != id) {
		err = store.ErrNotFound
	}
	if err != nil {
		c.fail(w, r, v, err)
		return
	}
	c.render(w, http.StatusOK, "testdelivery", v.page("Test notification", testData{Test: td, Body: string(td.Body)}))
}
