// Sort the shops table by the clicked column; values come from data-value attributes.
(function () {
  var table = document.getElementById("shops");
  var headings = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(headings, function (th, column) {
    var ascending = false;
    th.addEventListener("click", function () {
      ascending = !ascending;
      var numeric = th.getAttribute("data-sort") === "number";
      var rows = Array.prototype.slice.call(table.tBodies[0].rows);
      rows.sort(function (a, b) {
        var x = a.cells[column] ? a.cells[column].getAttribute("data-value") : "";
        var y = b.cells[column] ? b.cells[column].getAttribute("data-value") : "";
        var order = numeric ? parseFloat(x) - parseFloat(y) : String(x).localeCompare(String(y));
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { table.tBodies[0].appendChild(row); });
      document.body.setAttribute("data-sorted-by", String(column));
    });
  });
})();
