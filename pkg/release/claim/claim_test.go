package claim

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"
)

func locks(t *testing.T) (*Locks, *Locks) {
	t.Helper()
	_, config := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	var out [2]*Locks
	for i := range out {
		client, err := Dial(config.Transport)
		require.NoError(t, err)
		out[i] = New(client, "/registry/releases.triton.io/cloneset-claims")
		t.Cleanup(func() { _ = out[i].Close() })
	}
	return out[0], out[1]
}

// Two servers (two Locks on their own clients) admit releases of one CloneSet one at a time: many
// goroutines incrementing a shared counter under the lock never overlap.
func TestLockIsExclusiveAcrossServers(t *testing.T) {
	a, b := locks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var inside, most atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		l := a
		if i%2 == 1 {
			l = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, _, err := l.Lock(ctx, "shop", "web")
			if !assert.NoError(t, err) {
				return
			}
			n := inside.Add(1)
			for {
				m := most.Load()
				if n <= m || most.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(2 * time.Millisecond) // hold it a moment, so an overlap would show
			inside.Add(-1)
			unlock()
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), most.Load(), "never two holders at once")
}

// Locks of different CloneSets do not wait for each other; a held lock makes another Lock wait until
// its deadline.
func TestLocksArePerCloneSet(t *testing.T) {
	a, b := locks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	unlock, _, err := a.Lock(ctx, "shop", "web")
	require.NoError(t, err)

	other, _, err := b.Lock(ctx, "shop", "api")
	require.NoError(t, err, "another CloneSet is free")
	other()
	other, _, err = b.Lock(ctx, "blog", "web")
	require.NoError(t, err, "the same name in another namespace is free")
	other()

	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	_, _, err = b.Lock(short, "shop", "web")
	require.Error(t, err, "the held lock is not given twice")

	unlock()
	again, _, err := b.Lock(ctx, "shop", "web")
	require.NoError(t, err, "free once let go")
	again()
}

// What a holder stored before it let go lies at or below the revision the next holder's Lock returns, on
// another server too, also when that Lock waited for it: a read at that revision (what admission lists
// releases at) sees it.
func TestTheNextHolderReadsAtARevisionThatHasTheLastOnesWrite(t *testing.T) {
	a, b := locks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 4 {
		first, second := a, b
		if i%2 == 1 {
			first, second = b, a
		}
		unlock, _, err := first.Lock(ctx, "shop", "web")
		require.NoError(t, err)
		type taken struct {
			unlock func()
			rev    int64
			err    error
		}
		next := make(chan taken, 1)
		go func() {
			unlock, rev, err := second.Lock(ctx, "shop", "web")
			next <- taken{unlock, rev, err}
		}()
		// The second Lock is waiting (or about to): the first holder stores, then lets go.
		put, err := first.client.Put(ctx, "/registry/releases.triton.io/releases/shop/r", "stored")
		require.NoError(t, err)
		unlock()
		got := <-next
		require.NoError(t, got.err)
		assert.GreaterOrEqual(t, got.rev, put.Header.Revision, "the release the last holder stored is at or below the next holder's revision")
		got.unlock()
	}
}
