#include "data/window_iterator.h"

#include <string>

#include "common/check.h"

namespace tbptt::data {

WindowIterator::WindowIterator(std::shared_ptr<const Source> source, Split split, Layout layout, Schedule schedule)
    : source_(std::move(source)), split_(split), layout_(layout), schedule_(schedule), shape_(source_->shape()) {
  for (int b = 0; b < layout_.rows(); ++b) row_states_.push_back(source_->new_row_state());
}

void WindowIterator::seek(Cursor cursor) {
  TBPTT_CHECK(cursor.epoch >= 0 && cursor.index >= 0 && cursor.index <= windows_per_epoch(),
              "cursor (" + std::to_string(cursor.epoch) + ", " + std::to_string(cursor.index) + ") of an epoch of " +
                  std::to_string(windows_per_epoch()) + " windows");
  cursor_ = cursor;
}

bool WindowIterator::next(Window& w) {
  if (cursor_.index >= windows_per_epoch()) {
    cursor_ = {cursor_.epoch + 1, 0};
    return false;
  }
  const Span span = schedule_.span(cursor_.index);
  const int T = static_cast<int>(span.end - span.start), B = layout_.rows();
  const size_t cells = static_cast<size_t>(T) * B;
  w.T = T;
  w.B = B;
  w.new_from = static_cast<int>(span.new_start - span.start);
  w.carry_from = span.carry_from;
  w.reset = span.reset;
  w.epoch = cursor_.epoch;
  w.index = cursor_.index;
  // resize() within the capacity of earlier windows allocates nothing.
  w.tokens.resize(shape_.token_inputs ? cells : 0);
  w.features.resize(shape_.token_inputs ? 0 : cells * shape_.inputs);
  w.target_ids.resize(shape_.token_targets ? cells : 0);
  w.target_values.resize(shape_.token_targets ? 0 : cells * shape_.outputs);
  w.has_target.resize(cells);
  for (int b = 0; b < B; ++b) {
    const int row = layout_.first_row() + b;
    const RowRun run{split_, layout_.position(row, span.sequence_start), layout_.position(row, span.start), T, b};
    source_->fill(run, row_states_[b].get(), w);
  }
  ++cursor_.index;
  return true;
}

}  // namespace tbptt::data
