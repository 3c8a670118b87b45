#include "data/window.h"

namespace tbptt::data {

const char* split_name(Split split) {
  switch (split) {
    case Split::train: return "train";
    case Split::valid: return "valid";
    case Split::test: return "test";
  }
  return "?";
}

int64_t Window::targets() const {
  int64_t n = 0;
  for (size_t i = static_cast<size_t>(new_from) * B; i < has_target.size(); ++i) n += has_target[i];
  return n;
}

}  // namespace tbptt::data
