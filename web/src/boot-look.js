// boot-look.js - a classic script run before the first paint: puts the theme
// and density saved in this browser on <html>, so a dark-theme user never
// sees a white flash while the modules load. prefs.js takes over from there.
(function () {
  var look = {};
  try { look = JSON.parse(localStorage.getItem('healer.look')) || {}; } catch (e) { /* none */ }
  var theme = look.theme === 'dark' || look.theme === 'light' ? look.theme
    : (window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  document.documentElement.setAttribute('data-bs-theme', theme);
  document.documentElement.setAttribute('data-density', look.density === 'compact' ? 'compact' : 'comfortable');
}());
