#pragma once
// Walks the windows of one split for one rank, epoch after epoch (every epoch replays the same
// data). Typical use:
//
//   auto it = dataset.windows({.split = Split::train, .batch = 32, .rank = r, .ranks = P, .k1 = 20, .k2 = 20});
//   Window w;
//   for (int64_t e = 0; e < epochs; ++e)
//     while (it.next(w)) train(w);
//
// next() returns false once after the last window of an epoch; the cursor then stands at window 0
// of the next epoch. cursor()/seek() save and restore the position in O(1) (every source is
// random access), so a resumed run continues with exactly the window it would have seen.

#include <memory>
#include <vector>

#include "data/layout.h"
#include "data/schedule.h"
#include "data/source.h"

namespace tbptt::data {

class WindowIterator {
 public:
  WindowIterator(std::shared_ptr<const Source> source, Split split, Layout layout, Schedule schedule);

  // Fills `w` with the window at the cursor and advances; false (w untouched) at the end of an epoch.
  bool next(Window& w);

  Cursor cursor() const { return cursor_; }
  void seek(Cursor cursor);  // index in [0, windows_per_epoch()]
  int64_t windows_per_epoch() const { return schedule_.windows(); }
  const Layout& layout() const { return layout_; }

 private:
  std::shared_ptr<const Source> source_;
  Split split_;
  Layout layout_;
  Schedule schedule_;
  Shape shape_;
  Cursor cursor_;
  std::vector<std::unique_ptr<RowState>> row_states_;  // one per row of the shard
};

}  // namespace tbptt::data
