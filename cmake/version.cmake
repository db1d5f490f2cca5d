# Run at every build (target qsweep_version): writes the generated version.cpp with the commit the
# tree is at, "-dirty" when tracked files differ from it, and rewrites it only when that changed —
# so results files never carry the commit of the last configure, and nothing rebuilds needlessly.
# In: SOURCE_DIR, TEMPLATE, OUTPUT, PROJECT_VERSION.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE QSWEEP_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(QSWEEP_GIT_COMMIT STREQUAL "")
  set(QSWEEP_GIT_COMMIT "unknown")  # not a git checkout (a source tarball)
else()
  execute_process(COMMAND git diff --quiet HEAD -- WORKING_DIRECTORY ${SOURCE_DIR} RESULT_VARIABLE dirty ERROR_QUIET)
  if(NOT dirty EQUAL 0)
    string(APPEND QSWEEP_GIT_COMMIT "-dirty")
  endif()
endif()
configure_file(${TEMPLATE} ${OUTPUT}.tmp @ONLY)
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different ${OUTPUT}.tmp ${OUTPUT})
