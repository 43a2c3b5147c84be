#pragma once

#include <filesystem>
#include <string>

namespace wsgate::test {

/// A fresh directory under the system temp dir, removed with everything in it on destruction.
class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }

    /// Writes `content` to `name` inside the directory and returns the file's full path.
    std::filesystem::path write_file(const std::string& name, const std::string& content) const;

    /// The whole content of `name` inside the directory ("" when it does not exist).
    std::string read_file(const std::string& name) const;

  private:
    std::filesystem::path path_;
};

}  // namespace wsgate::test
