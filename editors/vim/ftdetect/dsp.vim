" dspcc programs (*.dsp). Vim also knows .dsp as Faust source and as a
" Microsoft Developer Studio project, and this file runs after Vim's own
" detection, so it claims a .dsp file only when it reads like dspcc: a line
" that starts a declaration (`signature Name`, `module Name`, `import "..."`).
" A new, empty .dsp file is taken to be dspcc too.
function! s:DetectDspcc() abort
  if line('$') == 1 && getline(1) ==# ''
    set filetype=dsp
    return
  endif
  let decl = '^\s*\%(\%(signature\|module\|optimize\|metric\|lm\|enum\|tool\|data\)\s\+\h\|import\s*"\)'
  for line in getline(1, 200)
    if line =~# decl
      set filetype=dsp
      return
    endif
  endfor
endfunction

autocmd BufNewFile,BufRead *.dsp call s:DetectDspcc()
